"""``data=csv``: a table of measurements, one row per example, a header row naming the columns.

Features (``data.features``, default every column but the targets):

- numeric columns (every non-missing cell a number) are standardized with the training split's
  mean and standard deviation (``data.normalize``);
- categorical columns (``data.categorical``, default the non-numeric ones) are one-hot encoded over
  the values found in the file.

Targets (``data.target``, one column or a list): ``data.task=auto`` makes a text column a
classification (binary for 2 values, else multiclass), a numeric column holding only 0 and 1 a
binary one, any other numeric column a regression; several targets are a multi-output regression.

Missing values: cells that are empty or ``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``?``
(any case). A row whose target is missing is dropped (with a log line). Missing features follow
``data.missing``: ``fill`` (numeric: the training split's median; categorical: a category of its
own), ``drop`` (the row) or ``error`` (one line naming the column and the row).

Example:
    >>> from dltool.config.schemas import CSVConfig
    >>> data = load(CSVConfig(path="houses.csv", target="price"), seed=0)  # doctest: +SKIP
    >>> data.spec.task, data.x_train.shape[1]  # doctest: +SKIP
    ('regression', 12)
"""

from __future__ import annotations

import csv
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dltool.data.base import Dataset, DataSpec, index_dataset
from dltool.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from dltool.config.schemas import CSVConfig

log = logging.getLogger(__name__)

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
MISSING_CATEGORY = "<missing>"


@dataclass(frozen=True)
class Table:
    """The columns of a CSV file as text cells, and which ones are numeric."""

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


@dataclass(frozen=True)
class Plan:
    """What the config makes of a table: targets, numeric and categorical features, task, classes."""

    targets: tuple[str, ...]
    numeric: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]]  # column -> its categories, in sorted order
    task: str
    class_names: tuple[str, ...] | None

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(len(c) for c in self.categorical.values())


def spec(cfg: CSVConfig) -> DataSpec:
    """Reads the file (once per version of it): feature count after one-hot encoding, task, classes."""
    plan = _plan(cfg, read_table(cfg))
    outputs = len(plan.class_names) if plan.task == "multiclass" else len(plan.targets)
    return DataSpec((plan.width,), plan.task, outputs, plan.class_names)


def check(cfg: CSVConfig) -> None:
    """Before training: the file exists, its header holds the target and feature columns."""
    _plan(cfg, read_table(cfg))


def load(cfg: CSVConfig, seed: int) -> Dataset:
    """Encode the targets, split, then fit the feature preprocessing on the training rows."""
    table = read_table(cfg)
    plan = _plan(cfg, table)
    rows = _rows_kept(cfg, table, plan)
    data = index_dataset(spec(cfg), cfg, seed, _targets(table, plan, rows))
    encoder = Encoder.fit(table, plan, rows[data.x_train], cfg.normalize)
    features = encoder.encode(table, rows)
    for split in ("train", "val", "test"):
        setattr(data, f"x_{split}", features[getattr(data, f"x_{split}")])
    dropped = len(table.columns[table.header[0]]) - len(rows)
    data.decisions = [
        *([f"{dropped} rows dropped (a missing target, or data.missing={cfg.missing})"] if dropped else []),
        *encoder.decisions(table, rows),
    ]
    return data


def fitted_encoder(cfg: CSVConfig, seed: int) -> Encoder:
    """The feature encoding a run with this data config and seed trained with (for ``dltool predict``)."""
    table = read_table(cfg)
    plan = _plan(cfg, table)
    rows = _rows_kept(cfg, table, plan)
    data = index_dataset(spec(cfg), cfg, seed, _targets(table, plan, rows))
    return Encoder.fit(table, plan, rows[data.x_train], cfg.normalize)


def _targets(table: Table, plan: Plan, rows: np.ndarray) -> np.ndarray:
    if plan.task == "regression":
        y = np.stack([table.floats(t)[rows] for t in plan.targets], axis=1)
        return y[:, 0] if len(plan.targets) == 1 else y
    cells = table.columns[plan.targets[0]][rows]
    return np.array([plan.class_names.index(_class_name(c)) for c in cells])


@dataclass(frozen=True)
class Encoder:
    """Numeric features: missing cells filled, standardized; categorical ones one-hot (unknown values: zeros)."""

    numeric: dict[str, tuple[float, float, float]]  # column -> (fill, mean, std)
    categorical: dict[str, tuple[str, ...]]

    @classmethod
    def fit(cls, table: Table, plan: Plan, train_rows: np.ndarray, normalize: bool) -> Encoder:
        """Statistics of the training rows: median (the fill), mean and std of each numeric column."""
        numeric = {}
        for name in plan.numeric:
            train = table.floats(name)[train_rows]
            fill = float(np.nanmedian(train)) if np.isfinite(train).any() else 0.0
            train = np.where(np.isnan(train), fill, train)
            mean, std = (float(train.mean()), float(train.std() or 1.0)) if normalize else (0.0, 1.0)
            numeric[name] = (fill, mean, std)
        return cls(numeric, dict(plan.categorical))

    def decisions(self, table: Table, rows: np.ndarray) -> list[str]:
        """One line per column whose cells were filled, and per one-hot encoded column.

        >>> table = Table(Path("t.csv"), ("a", "c"), {"a": np.array(["1", "", "3"]), "c": np.array(["x", "y", "?"])})
        >>> Encoder({"a": (2.0, 0.0, 1.0)}, {"c": ("x", "y", "<missing>")}).decisions(table, np.arange(3))
        ["column 'a': 1 missing cell filled with 2 (the training median)", \
"column 'c': one-hot encoded over 3 categories (x, y, <missing>); 1 missing cell is the category <missing>"]
        """
        lines = []
        for name, (fill, _, _) in self.numeric.items():
            missing = int(table.missing(name)[rows].sum())
            if missing:
                cells = "cell" if missing == 1 else "cells"
                lines.append(f"column {name!r}: {missing} missing {cells} filled with {fill:.6g} (the training median)")
        for name, categories in self.categorical.items():
            shown = ", ".join(categories[:5]) + (", ..." if len(categories) > 5 else "")
            line = f"column {name!r}: one-hot encoded over {len(categories)} categories ({shown})"
            missing = int(table.missing(name)[rows].sum())
            if missing:
                line += f"; {missing} missing cell{'s are' if missing > 1 else ' is'} the category {MISSING_CATEGORY}"
            lines.append(line)
        return lines

    def encode(self, table: Table, rows: np.ndarray | None = None) -> np.ndarray:
        """The float32 feature matrix of ``rows`` of ``table`` (all rows when None)."""
        rows = np.arange(len(next(iter(table.columns.values())))) if rows is None else rows
        parts: list[np.ndarray] = []
        for name, (fill, mean, std) in self.numeric.items():
            values = table.floats(name)[rows]
            parts.append(((np.where(np.isnan(values), fill, values) - mean) / std)[:, None])
        for name, categories in self.categorical.items():
            cells = [MISSING_CATEGORY if c.lower() in MISSING else c for c in table.columns[name][rows]]
            index = {c: i for i, c in enumerate(categories)}
            one_hot = np.zeros((len(cells), len(categories)))
            for i, cell in enumerate(cells):
                if cell in index:
                    one_hot[i, index[cell]] = 1.0
            parts.append(one_hot)
        return np.concatenate(parts, axis=1).astype(np.float32)

    def read(self, path: Path, delimiter: str) -> tuple[list[str], np.ndarray]:
        """Names (``file:line``) and encoded features of the rows of another CSV with the feature columns."""
        table = _read(path.resolve(), delimiter, path.stat().st_mtime)
        for name in (*self.numeric, *self.categorical):
            _column(table, name, "data.features")
        try:
            features = self.encode(table)
        except ValueError as err:
            raise ConfigError(f"{path}: a numeric feature column holds text ({err})") from None
        return [f"{path}:{line}" for line in range(2, len(features) + 2)], features


@functools.lru_cache(maxsize=4)
def _read(path: Path, delimiter: str, mtime: float) -> Table:
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


def read_table(cfg: CSVConfig) -> Table:
    """The CSV of ``data.path`` (cached while the file is unchanged), or a one-line ConfigError."""
    if cfg.path is None:
        raise ConfigError("data.path is not set: give the CSV file (data.path=<file.csv> data.target=<column>)")
    path = Path(cfg.path).expanduser()
    if not path.is_file():
        raise ConfigError(f"data.path={cfg.path}: no such file")
    return _read(path.resolve(), cfg.delimiter, path.stat().st_mtime)


def _column(table: Table, name: str, key: str) -> str:
    if name not in table.columns:
        raise ConfigError(
            f"{key}={name}: no column {name!r} in {table.path}{did_you_mean(name, table.header)}; "
            f"columns: {', '.join(table.header)}"
        )
    return name


def _plan(cfg: CSVConfig, table: Table) -> Plan:
    targets = tuple(_column(table, t, "data.target") for t in _as_list(cfg.target))
    if not targets:
        raise ConfigError("data.target is empty: name the target column(s)")
    names = cfg.features if cfg.features is not None else [c for c in table.header if c not in targets]
    features = [_column(table, f, "data.features") for f in names]
    if not features:
        raise ConfigError(f"data.features: no feature column left in {table.path} besides the targets")
    categorical = (
        [_column(table, c, "data.categorical") for c in cfg.categorical]
        if cfg.categorical is not None
        else [f for f in features if not table.numeric(f)]
    )
    categories = {}
    for name in (f for f in features if f in categorical):
        found = {MISSING_CATEGORY if c.lower() in MISSING else c for c in table.columns[name]}
        categories[name] = tuple(sorted(found))
    task, class_names = _task(cfg, table, targets)
    return Plan(targets, tuple(f for f in features if f not in categories), categories, task, class_names)


def _task(cfg: CSVConfig, table: Table, targets: tuple[str, ...]) -> tuple[str, tuple[str, ...] | None]:
    numeric = all(table.numeric(t) for t in targets)
    task = cfg.task
    if task == "auto":
        values = table.floats(targets[0]) if numeric else None
        if len(targets) > 1 or (numeric and not set(np.unique(values[~np.isnan(values)])) <= {0.0, 1.0}):
            task = "regression"
        else:
            task = "binary" if len(_classes(table, targets[0])) == 2 else "multiclass"
    if task == "regression":
        if not numeric:
            bad = next(t for t in targets if not table.numeric(t))
            raise ConfigError(f"data.target={bad}: a regression target must be numeric; {bad!r} holds text")
        return task, None
    if len(targets) > 1:
        raise ConfigError(f"data.target={list(targets)}: several targets make a regression (data.task={cfg.task})")
    classes = _classes(table, targets[0])
    if task == "binary" and len(classes) != 2:
        raise ConfigError(f"data.task=binary: column {targets[0]!r} holds {len(classes)} classes, not 2")
    return task, classes


def _classes(table: Table, target: str) -> tuple[str, ...]:
    """The target's values, sorted as numbers when they are numbers."""
    values = {
        _class_name(c) for c, missing in zip(table.columns[target], table.missing(target), strict=True) if not missing
    }
    try:
        return tuple(sorted(values, key=float))
    except ValueError:
        return tuple(sorted(values))


def _class_name(cell: str) -> str:
    """``1.0`` and ``1`` are the same class."""
    try:
        number = float(cell)
    except ValueError:
        return cell
    return str(int(number)) if number.is_integer() else cell


def _rows_kept(cfg: CSVConfig, table: Table, plan: Plan) -> np.ndarray:
    """Rows with all targets present, and with all features present under ``data.missing=drop``."""
    keep = ~np.any([table.missing(t) for t in plan.targets], axis=0)
    if not keep.all():
        log.info("data.path=%s: %d rows without a target dropped", cfg.path, int((~keep).sum()))
    features = (*plan.numeric, *plan.categorical)
    if cfg.missing != "fill":
        for name in features:
            missing = table.missing(name) & keep
            if missing.any() and cfg.missing == "error":
                line = int(np.argmax(missing)) + 2
                raise ConfigError(
                    f"{table.path}:{line}: column {name!r} has a missing value "
                    "(data.missing=error; fill or drop them with data.missing=fill|drop)"
                )
            keep &= ~missing
    rows = np.flatnonzero(keep)
    if len(rows) < 2:
        raise ConfigError(f"data.path={cfg.path}: {len(rows)} usable rows (data.missing={cfg.missing})")
    return rows


def _as_list(value: object) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]
