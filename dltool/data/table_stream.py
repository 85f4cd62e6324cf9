"""``data=csv`` larger than memory: the table read in parts of :data:`CHUNK_ROWS` rows, never whole.

``data.stream=true`` (or ``auto`` over ``data.memory_budget_mb``, :func:`_estimate`) reads the file in passes:
the feature types from the first part; a scan of the targets, category values and missing cells; the split (the
same rows as in memory); the encoding fitted on the training rows (numeric columns through a float64 scratch
file); each part encoded into the float32 ``.npy`` memory maps ``x_train``, ``x_val`` and ``x_test``.

The maps are made in a new folder of ``TMPDIR``, their files removed once mapped: the disk space comes back when
the arrays are freed or the process ends, crashed or not. Named inputs, sequence and image columns and embedded
categories are read in memory only.

Example:
    >>> from dltool.data.tables import CSVConfig
    >>> data = load(CSVConfig(path="big.csv", target="price", stream=True), seed=0)  # doctest: +SKIP
    >>> type(data.x_train).__name__  # doctest: +SKIP
    'memmap'
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dltool.data import tabular
from dltool.data.base import Dataset, DataSpec, index_dataset
from dltool.data.table_encoder import Encoder
from dltool.data.tables import MISSING_CATEGORY, Table, category, chunks, parquet_rows, table_path, texts
from dltool.errors import ConfigError

if TYPE_CHECKING:
    from dltool.data.tables import CSVConfig

log = logging.getLogger(__name__)

#: rows read at a time; the feature types are inferred from the first part
CHUNK_ROWS = 20_000
#: the memory of one cell read in memory (a short Python string, and its pointers in the rows read and in the table;
#: a 300,000-row table of 23 columns without bins, 6.9 million cells and 66 MB of features, peaks at 764 MB)
CELL_BYTES = 100
#: the memory of one feature value encoded in memory: its float64 block and its float32 matrix (the same table with
#: data.number_bins=16, 378 features a row, peaks at 2,595 MB)
FEATURE_BYTES = 12
SPLITS = ("train", "val", "test")

_SCANS: dict[tuple, Scan] = {}  # the last scans, by file version and config: spec, check and load share one
_DECIDED: dict[tuple, str | None] = {}  # why a file version is streamed under a config (None: it is not)


def spec(cfg: CSVConfig) -> DataSpec:
    """The table's spec: from one scan of the file when it is streamed, else from the table in memory."""
    return tabular._spec(_scan(cfg).plan) if streams(cfg) else tabular.spec(cfg)


def check(cfg: CSVConfig) -> None:
    """Before training: the file exists, its header holds the columns named (its later rows agree, streamed)."""
    if streams(cfg):
        _scan(cfg)
    else:
        tabular.check(cfg)


def load(cfg: CSVConfig, seed: int) -> Dataset:
    """The dataset of :func:`dltool.data.tabular.load`; streamed, its ``x`` arrays are float32 memory maps."""
    if not streams(cfg):
        return tabular.load(cfg, seed)
    log.info("%s", _decision(cfg))  # here, not when decided: spec and check run before the run's log is open
    scan, data, where, position = _split(cfg, seed)
    with tempfile.TemporaryDirectory(prefix="dltool-table-") as folder:  # its files removed at once: maps keep them
        encoder, missing = _fit(cfg, scan, where, position, folder)
        tabular.announce_types(scan.plan)
        outs = [_mapped(folder, f"x_{s}.npy", (data.size(s), scan.plan.width), np.float32) for s in SPLITS]
        _encode(cfg, encoder, where, position, outs)
    for split, out in zip(SPLITS, outs, strict=True):
        setattr(data, f"x_{split}", out)
    dropped = tabular.dropped_rows(len(scan.keep) - len(scan.rows), cfg)
    data.decisions = dropped + encoder.decisions(missing) + encoder.type_decisions(scan.plan)
    return data


def fitted_encoder(cfg: CSVConfig, seed: int) -> Encoder:
    """The feature encoding a run with this data config and seed trained with (for ``dltool predict``)."""
    if not streams(cfg):
        return tabular.fitted_encoder(cfg, seed)
    scan, _, where, position = _split(cfg, seed)
    with tempfile.TemporaryDirectory(prefix="dltool-table-") as folder:
        return _fit(cfg, scan, where, position, folder)[0]


def streams(cfg: CSVConfig) -> bool:
    """Whether the table of ``data.path`` is read in parts; ``stream=false`` over the budget is a ConfigError."""
    return _decision(cfg) is not None


def _decision(cfg: CSVConfig) -> str | None:
    """Why the table is read in parts (the line :func:`load` logs), or None when it is read in memory."""
    return _cached(_DECIDED, 1, cfg, _decide)


def _cached(store: dict[tuple, Any], keep: int, cfg: CSVConfig, make: Callable[[CSVConfig, Path], Any]) -> Any:
    """``make(cfg, path)``, the last ``keep`` kept in ``store`` by file version and config (spec, check, load)."""
    path = table_path(cfg)
    key = (path, path.stat().st_mtime_ns, repr(cfg))
    if key not in store:
        while len(store) >= keep:
            store.pop(next(iter(store)))
        store[key] = make(cfg, path)
    return store[key]


def _decide(cfg: CSVConfig, path: Path) -> str | None:
    parts = f"reading it in parts of {CHUNK_ROWS:,} rows"
    if cfg.stream is True:
        return f"data.stream=true: data.path={cfg.path}: {parts}"
    rows, columns, needed_mb = _estimate(cfg, path)
    size = f"about {rows:,} rows of {columns} columns take about {needed_mb:,.0f} MB in memory"
    if needed_mb <= cfg.memory_budget_mb:
        return None
    if cfg.stream is False:
        raise ConfigError(
            f"data.path={cfg.path}: {size}, over data.memory_budget_mb={cfg.memory_budget_mb}; read it in parts "
            "with data.stream=true (or auto), or raise the budget"
        )
    why = f"(cells as text and features), over data.memory_budget_mb={cfg.memory_budget_mb}"
    return f"data.stream=auto: data.path={cfg.path}: {size} {why}; {parts}"


def _estimate(cfg: CSVConfig, path: Path) -> tuple[int, int, float]:
    """Rows, columns and megabytes of the table in memory (cells as text and features), from the first part."""
    head = _head(cfg, path)
    count = len(head.columns[head.header[0]])
    if path.suffix.lower() == ".parquet":
        count = parquet_rows(path)
    elif count == CHUNK_ROWS:  # more rows than the first part: as many as its length per row fits in the file
        row_bytes = sum(len(c) + 1 for cells in head.columns.values() for c in cells) / count
        count = max(count, int(path.stat().st_size / row_bytes))
    _, features = tabular.target_and_feature_columns(cfg, head)
    width = 0
    for name, (kind, _) in tabular._types(cfg, head, features).items():
        if kind == "category":
            width += min(len({category(c) for c in head.columns[name]}), cfg.max_categories)
        else:
            width += cfg.text_tokens if kind == "text" else 1 + cfg.number_bins if kind == "number" else 1
    return count, len(head.header), count * (len(head.header) * CELL_BYTES + FEATURE_BYTES * width) / 2**20


def _head(cfg: CSVConfig, path: Path) -> Table:
    """The first part of the table (its first :data:`CHUNK_ROWS` rows)."""
    parts = chunks(path, cfg.delimiter, CHUNK_ROWS)
    try:
        _, head = next(parts, (2, None))
    finally:
        parts.close()  # the file is closed now, not when the generator is collected
    if head is None:
        raise ConfigError(f"data.path={cfg.path}: a header and no data rows")
    return head


@dataclass(frozen=True)
class Scan:
    """What one pass over the file found: the plan, the target columns whole, the rows kept."""

    plan: tabular.Plan
    targets: Table
    keep: np.ndarray  # one flag per row of the file
    rows: np.ndarray  # the rows kept

    @classmethod
    def of(cls, cfg: CSVConfig, path: Path) -> Scan:
        """Types from the first part; then every part: the targets, the values of category and binary columns,
        the numbers checked, and (``data.missing=drop|error``) the rows missing a feature."""
        head = _head(cfg, path)
        targets, features = tabular.target_and_feature_columns(cfg, head)
        types = tabular._types(cfg, head, features)
        seen: dict[str, set[str]] = {n: set() for n in features if types[n][0] in ("category", "binary")}
        numbers = [n for n in features if types[n][0] == "number"]
        target_cells: dict[str, list[np.ndarray]] = {t: [] for t in targets}
        incomplete, first_missing = [], {}
        for line, part in chunks(path, cfg.delimiter, CHUNK_ROWS):
            for name in targets:  # a copy: a column of the part is a view that would keep the whole part
                target_cells[name].append(np.array(part.columns[name]))
            for name, values in seen.items():
                values.update(category(c) for c in part.columns[name])
            for name in numbers:
                _check_numbers(cfg, part, name, line)
            if cfg.missing != "fill":
                incomplete.append(tabular.missing_features(part, targets, features, line, first_missing))
        for name, (kind, why) in types.items():
            if (
                kind == "binary"
                and why == "numbers that are all 0 or 1"
                and not tabular._zero_one(seen[name] - {MISSING_CATEGORY})
            ):
                raise ConfigError(
                    f"data.path={cfg.path}: column {name!r} holds numbers other than 0 and 1 after its first "
                    f"{CHUNK_ROWS:,} rows (its type is inferred from them); set data.columns.{name}=number"
                )
        target_table = Table(path, targets, {t: np.concatenate(cells) for t, cells in target_cells.items()})
        plan = tabular._plan(cfg, head, seen, target_table)
        _in_memory_only(cfg, plan, seen)
        incomplete = np.concatenate(incomplete) if incomplete else None
        keep = tabular.kept_rows(cfg, plan, target_table, incomplete, first_missing, log)
        return cls(plan, target_table, keep, np.flatnonzero(keep))


def _in_memory_only(cfg: CSVConfig, plan: tabular.Plan, seen: dict[str, set[str]]) -> None:
    """A ConfigError for what is read in memory only: named outputs, sequence and image columns, embedded ids."""
    if plan.outputs:
        raise ConfigError(
            f"data.stream={str(cfg.stream).lower()}: targets {list(plan.targets)} make named outputs of different "
            "kinds, read in memory only; set data.stream=false (and raise data.memory_budget_mb) or give one target"
        )
    own = [*plan.sequence, *plan.tokens, *plan.images]
    if own:
        raise ConfigError(
            f"data.stream={str(cfg.stream).lower()}: column {own[0]!r} is of type {plan.kind(own[0])}, read in memory "
            f"only; set data.stream=false (and raise data.memory_budget_mb) or leave it out of data.features"
        )
    embedded = [n for n in plan.categorical if cfg.embed_categories and len(seen[n]) > cfg.max_categories]
    if embedded or plan.embedded:
        name = (embedded or list(plan.embedded))[0]
        raise ConfigError(
            f"data.embed_categories=true: column {name!r} (more than data.max_categories values) would be embedded, "
            "which reads the table in memory only; set data.embed_categories=false to read it in parts"
        )


def _check_numbers(cfg: CSVConfig, part: Table, name: str, first_line: int) -> None:
    """A number column's cells of one part are numbers, or a one-line ConfigError naming the first that is not."""
    try:
        part.floats(name)
    except ValueError:
        for line, (cell, missing) in enumerate(zip(part.columns[name], part.missing(name), strict=True), first_line):
            try:
                float("nan" if missing else cell)
            except ValueError:
                raise ConfigError(
                    f"{part.path}:{line}: column {name!r} holds text ({cell!r}), its first {CHUNK_ROWS:,} rows "
                    f"numbers (the type is inferred from them); set data.columns.{name}=category or text"
                ) from None


def _scan(cfg: CSVConfig) -> Scan:
    """The scan of the file of ``data.path`` under this config (the last two kept)."""
    return _cached(_SCANS, 2, cfg, Scan.of)


def _split(cfg: CSVConfig, seed: int) -> tuple[Scan, Dataset, np.ndarray, np.ndarray]:
    """The scan, a dataset of the kept rows' indices (the same split as in memory), and for each row of the file
    its split (0 train, 1 val, 2 test, -1 none) and its place in that split."""
    scan = _scan(cfg)
    data = index_dataset(tabular._spec(scan.plan), cfg, seed, tabular._targets(scan.targets, scan.plan, scan.rows))
    where, position = np.full(len(scan.keep), -1, np.int8), np.zeros(len(scan.keep), np.int64)
    for i, split in enumerate(SPLITS):
        index = scan.rows[getattr(data, f"x_{split}")]
        where[index] = i
        position[index] = np.arange(len(index))
    return scan, data, where, position


def _parts(cfg: CSVConfig) -> Iterator[tuple[Table, slice]]:
    """Each part of the file and the rows of the file it holds."""
    start = 0
    for _, part in chunks(table_path(cfg), cfg.delimiter, CHUNK_ROWS):
        size = len(part.columns[part.header[0]])
        yield part, slice(start, start + size)
        start += size


def _fit(
    cfg: CSVConfig, scan: Scan, where: np.ndarray, position: np.ndarray, folder: str
) -> tuple[Encoder, dict[str, int]]:
    """The encoder fitted on the training rows, and each feature column's missing cells in the rows kept."""
    plan = scan.plan
    values = _mapped(folder, "train_values.npy", (len(plan.numeric), int((where == 0).sum())), np.float64)
    cut = [n for n, c in plan.categorical.items() if plan.max_categories is not None and len(c) > plan.max_categories]
    counts: dict[str, Counter[str]] = {n: Counter() for n in (*cut, *(n for n, v in plan.binary.items() if v))}
    features = tuple(dict.fromkeys(plan.features))
    missing = dict.fromkeys(features, 0)
    for part, rows in _parts(cfg):
        train = where[rows] == 0
        at = position[rows][train]
        for i, name in enumerate(plan.numeric):
            values[i, at] = part.floats(name)[train]  # in the training split's order, as in memory
        for name, counted in counts.items():
            counted.update(category(c) for c in part.columns[name][train])
        kept = scan.keep[rows]
        for name in features:
            missing[name] += int(part.missing(name)[kept].sum())
    return Encoder.fit(plan, _TrainParts(cfg, where, values, plan.numeric, counts), cfg.normalize), missing


class _TrainParts:
    """The training cells of a table read in parts (a :class:`~dltool.data.table_encoder.TrainCells`)."""

    def __init__(
        self, cfg: CSVConfig, where: np.ndarray, values: np.ndarray, numeric: tuple[str, ...], counts: dict
    ) -> None:
        self.cfg, self.where, self.values, self.numeric, self.tallies = cfg, where, values, numeric, counts
        self.size = values.shape[1]  # training rows (the scratch file has one column each, numeric columns or not)

    def floats(self, name: str) -> np.ndarray:
        return np.array(self.values[self.numeric.index(name)])

    def counts(self, name: str) -> Counter[str]:
        return self.tallies[name]

    def own_inputs(self, plan: tabular.Plan, normalize: bool) -> tuple[dict, dict]:
        return {}, {}  # a table read in parts has no sequence or token columns (_in_memory_only)

    def texts(self, name: str) -> Any:
        import tensorflow as tf

        def cells() -> Iterator[np.ndarray]:
            for part, rows in _parts(self.cfg):
                train = self.where[rows] == 0
                if train.any():
                    yield np.asarray(texts(part.columns[name][train]), dtype=str)

        return tf.data.Dataset.from_generator(cells, output_signature=tf.TensorSpec((None,), tf.string))


def _encode(cfg: CSVConfig, encoder: Encoder, where: np.ndarray, position: np.ndarray, outs: list[np.ndarray]) -> None:
    """Each part's rows encoded and written to their split's array, at their place in it."""
    for part, rows in _parts(cfg):
        split = where[rows]
        chosen = np.flatnonzero(split >= 0)
        if len(chosen):
            encoded = encoder.encode(part, chosen)
            places = position[rows][chosen]
            for i, out in enumerate(outs):
                mine = split[chosen] == i
                out[places[mine]] = encoded[mine]
    for out in outs:
        if isinstance(out, np.memmap):
            out.flush()


def _mapped(folder: str, name: str, shape: tuple[int, int], dtype: type) -> np.ndarray:
    """A new ``.npy`` memory map in ``folder``, its file removed at once (the map keeps its pages until freed)."""
    if 0 in shape:
        return np.zeros(shape, dtype)
    path = os.path.join(folder, name)
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    try:
        if hasattr(os, "posix_fallocate"):  # the blocks taken now: a full disk is an error here, not a crash mid-write
            with open(path, "r+b") as f:
                os.posix_fallocate(f.fileno(), 0, os.path.getsize(path))
    except OSError as err:
        size_mb = os.path.getsize(path) / 2**20
        raise ConfigError(
            f"data.stream: no room for {size_mb:,.0f} MB of features in {folder} ({err.strerror}); set TMPDIR to a "
            "folder on a disk with room"
        ) from None
    finally:
        os.remove(path)
    return array
