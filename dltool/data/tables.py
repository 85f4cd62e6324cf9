"""A table file read as text cells: a CSV with a header row, or a Parquet file.

Cells that are empty or ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?`` (any case) are missing.
A file is read once per version of it (its modification time), whatever the number of callers;
:func:`chunks` reads it a part at a time instead (a table larger than memory).

Example:
    >>> table = read_table(CSVConfig(path="houses.csv"))  # doctest: +SKIP
    >>> table.header, table.numeric("price")  # doctest: +SKIP
    (('size', 'rooms', 'price'), True)
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dltool.config.data import TASKS, SplitDataConfig
from dltool.config.fields import opt
from dltool.config.registry import option
from dltool.errors import ConfigError, did_you_mean, first_line

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
MISSING_CATEGORY = "<missing>"  # what a missing cell of a category column is: a category of its own


@option("data")
@dataclass
class CSVConfig(SplitDataConfig):
    """A CSV or Parquet table with a header row: typed feature columns and one or several target columns."""

    source: ClassVar[str] = "dltool.data.table_io:SOURCE"
    name: str = "csv"
    path: str | None = opt(None, "the CSV file (first row: column names), or a .parquet file")
    target: Any = opt(
        "target", "target column, or a list (all regressions: one multi-output regression; else a named output each)"
    )
    features: list[str] | None = opt(None, "feature columns (null: every column but the targets)")
    categorical: list[str] | None = opt(None, "columns one-hot encoded (null: the columns typed category)")
    columns: dict[str, str] | None = opt(
        None,
        "column types by name: number, binary, category, text, sequence or image (the others: inferred from cells)",
    )
    max_categories: int = opt(
        50, "a category column of more values: one-hot over its most frequent ones and <other>", gt=1
    )
    embed_categories: bool = opt(
        False,
        "a category column of more than max_categories values: an integer id, a model input of its own that "
        "model=mlp's combiner embeds (false: one-hot of its most frequent values and <other>)",
    )
    text_tokens: int = opt(5000, "vocabulary of each text column's TF-IDF vector (words and word pairs)", gt=2)
    sequence_length: int = opt(
        32, "values (or token ids) of each sequence column: longer cells cut, shorter padded with 0", gt=0
    )
    image_size: list[int] = opt([64, 64], "[height, width] the images of an image column are resized to")
    color_mode: str = opt(
        "rgb", "images of an image column: rgb (3 channels) or grayscale (1)", choices=("rgb", "grayscale")
    )
    task: str = opt("auto", "auto: regression for a numeric target, else classification", choices=("auto", *TASKS))
    missing: str = opt(
        "fill",
        "empty/NA cells: fill (numeric: training median, categorical: own category), drop (the row) or error",
        choices=("fill", "drop", "error"),
    )
    normalize: bool = opt(True, "standardize numeric features with the training split's mean and std")
    number_bins: int = opt(
        16, "number columns also encoded piecewise-linearly over this many quantile bins (0: not)", ge=0
    )
    delimiter: str = opt(",", "field separator")
    inputs: dict[str, Any] | None = opt(None, "named inputs (model=mlp or graph): {input: [columns]} (with targets)")
    targets: dict[str, str] | None = opt(None, "named outputs (model=mlp or graph): {output: column}, a head each")
    memory_budget_mb: int = opt(4096, "largest table held in memory (its cells as text and its float32 features)", gt=0)
    stream: Any = opt(
        "auto",
        "read the file in parts, features written to disk (auto: over memory_budget_mb)",
        choices=("auto", True, False),
    )


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
def _read(path: Path, delimiter: str, _mtime: float) -> Table:
    parts = [chunk for _, chunk in chunks(path, delimiter)]
    if not parts:
        raise ConfigError(f"data.path={path}: a header and no data rows")
    header = parts[0].header
    return Table(path, header, {name: np.concatenate([p.columns[name] for p in parts]) for name in header})


def chunks(path: Path, delimiter: str = ",", rows: int = 65_536) -> Iterator[tuple[int, Table]]:
    """The table file in parts of at most ``rows`` rows: each part's first line number (2: the first row after
    the header) and its cells, read as they are needed (a CSV by ``csv.reader``, a Parquet file by batches).

    Example:
        >>> [line for line, _ in chunks(Path("houses.csv"), rows=500)]  # doctest: +SKIP
        [2, 502, 1002]
    """
    if path.suffix.lower() == ".parquet":
        yield from _parquet_chunks(path, rows)
        return
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader, None)
        if not header:
            raise ConfigError(f"data.path={path}: empty file (expected a header row of column names)")
        header = tuple(h.strip() for h in header)
        line, part = 2, []
        for row in reader:
            if row:  # blank lines are no rows
                part.append([c.strip() for c in row])
            if len(part) == rows:
                yield line, _chunk(path, header, part, line)
                line, part = line + rows, []
        if part:
            yield line, _chunk(path, header, part, line)


def _chunk(path: Path, header: tuple[str, ...], rows: list[list[str]], first_line: int) -> Table:
    for line, row in enumerate(rows, start=first_line):
        if len(row) != len(header):
            raise ConfigError(f"{path}:{line}: {len(row)} fields, the header has {len(header)} (data.delimiter?)")
    cells = np.array(rows, dtype=object).reshape(len(rows), len(header))
    return Table(path, header, {name: cells[:, i] for i, name in enumerate(header)})


def _parquet_chunks(path: Path, rows: int) -> Iterator[tuple[int, Table]]:
    """A Parquet file's batches, their cells as the text a CSV would hold (nulls empty)."""
    import pyarrow.parquet as pq

    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=rows)
        line = 2
        for batch in batches:
            columns = batch.to_pydict()
            cells = [["" if v is None else str(v).strip() for v in values] for values in columns.values()]
            part = [list(row) for row in zip(*cells, strict=True)]
            if part:
                yield line, _chunk(path, tuple(columns), part, line)
                line += len(part)
    except Exception as err:  # pyarrow raises its own error types for a file that is not Parquet
        raise ConfigError(f"data.path={path}: not a readable Parquet file ({first_line(err)})") from None


def parquet_rows(path: Path) -> int:
    """The row count of a Parquet file, from its metadata (nothing else read)."""
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception as err:  # as above: not a Parquet file
        raise ConfigError(f"data.path={path}: not a readable Parquet file ({first_line(err)})") from None


def column(table: Table, name: str, key: str) -> str:
    """``name``, a column of ``table`` (the config key ``key`` names it), or a one-line ConfigError."""
    if name not in table.columns:
        raise ConfigError(
            f"{key}={name}: no column {name!r} in {table.path}{did_you_mean(name, table.header)}; "
            f"columns: {', '.join(table.header)}"
        )
    return name


def table_path(cfg: CSVConfig) -> Path:
    """The file of ``data.path``, resolved, or a one-line ConfigError."""
    if cfg.path is None:
        raise ConfigError("data.path is not set: give the CSV file (data.path=<file.csv> data.target=<column>)")
    path = Path(cfg.path).expanduser()
    if not path.is_file():
        raise ConfigError(f"data.path={cfg.path}: no such file")
    return path.resolve()


def read_table(cfg: CSVConfig) -> Table:
    """The table of ``data.path`` (cached while the file is unchanged), or a one-line ConfigError."""
    return read_path(table_path(cfg), cfg.delimiter)


def read_path(path: Path, delimiter: str = ",") -> Table:
    """The table of a CSV (``delimiter``-separated) or ``.parquet`` file, cached while it is unchanged."""
    return _read(path.resolve(), delimiter, path.stat().st_mtime)


def category(cell: str) -> str:
    """A category column's cell, a missing one the category of its own (``<missing>``)."""
    return MISSING_CATEGORY if cell.lower() in MISSING else cell


def categories(cells: np.ndarray) -> np.ndarray:
    """Category cells, the missing ones the category of their own (as one-hot columns have it)."""
    return np.array([category(c) for c in cells], dtype=object)


def texts(cells: np.ndarray) -> np.ndarray:
    """Text cells, the missing ones empty (no words, no numbers, no tokens)."""
    return np.array(["" if c.lower() in MISSING else c for c in cells], dtype=object)
