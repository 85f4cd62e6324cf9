"""A table file read as text cells: a CSV with a header row, or a Parquet file.

Cells that are empty or ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?`` (any case) are missing.
A file is read once per version of it (its modification time), whatever the number of callers.

Example:
    >>> table = read_table(CSVConfig(path="houses.csv"))  # doctest: +SKIP
    >>> table.header, table.numeric("price")  # doctest: +SKIP
    (('size', 'rooms', 'price'), True)
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dltool.errors import ConfigError, first_line

if TYPE_CHECKING:
    from dltool.config.data import CSVConfig

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


@dataclass(frozen=True)
class Table:
    """The columns of a table file as text cells, and which ones are numeric."""

    path: Path
    header: tuple[str, ...]
    columns: dict[str, np.ndarray]  # object arrays of stripped cells

    def missing(self, name: str) -> np.ndarray:
        return np.array([c.lower() in MISSING for c in self.columns[name]], dtype=bool)

    def numeric(self, name: str) -> bool:
        try:
            self.floats(name)
        except ValueError:
            return False
        return True

    def floats(self, name: str) -> np.ndarray:
        """The column as float64, NaN where missing (ValueError if a cell is not a number)."""
        cells = self.columns[name]
        return np.array([np.nan if c.lower() in MISSING else float(c) for c in cells], dtype=np.float64)


@functools.lru_cache(maxsize=4)
def _read(path: Path, delimiter: str, mtime: float) -> Table:
    if path.suffix.lower() == ".parquet":
        header, rows = _parquet_rows(path)
    else:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next(reader, None)
            if not header:
                raise ConfigError(f"data.path={path}: empty file (expected a header row of column names)")
            header = tuple(h.strip() for h in header)
            rows = [[c.strip() for c in row] for row in reader if row]
    for line, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ConfigError(f"{path}:{line}: {len(row)} fields, the header has {len(header)} (data.delimiter?)")
    if not rows:
        raise ConfigError(f"data.path={path}: a header and no data rows")
    cells = np.array(rows, dtype=object).reshape(len(rows), len(header))
    return Table(path, header, {name: cells[:, i] for i, name in enumerate(header)})


def _parquet_rows(path: Path) -> tuple[tuple[str, ...], list[list[str]]]:
    """A Parquet file's column names and its cells as the text a CSV would hold (nulls empty)."""
    import pyarrow.parquet as pq

    try:
        columns = pq.read_table(path).to_pydict()
    except Exception as err:  # pyarrow raises its own error types for a file that is not Parquet
        raise ConfigError(f"data.path={path}: not a readable Parquet file ({first_line(err)})") from None
    cells = [["" if v is None else str(v).strip() for v in values] for values in columns.values()]
    return tuple(columns), [list(row) for row in zip(*cells, strict=True)]


def read_table(cfg: CSVConfig) -> Table:
    """The table of ``data.path`` (cached while the file is unchanged), or a one-line ConfigError."""
    if cfg.path is None:
        raise ConfigError("data.path is not set: give the CSV file (data.path=<file.csv> data.target=<column>)")
    path = Path(cfg.path).expanduser()
    if not path.is_file():
        raise ConfigError(f"data.path={cfg.path}: no such file")
    return read_path(path, cfg.delimiter)


def read_path(path: Path, delimiter: str = ",") -> Table:
    """The table of a CSV (``delimiter``-separated) or ``.parquet`` file, cached while it is unchanged."""
    return _read(path.resolve(), delimiter, path.stat().st_mtime)
