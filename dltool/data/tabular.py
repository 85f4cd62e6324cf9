"""``data=csv`` read in memory: a table (a CSV with a header row, or a Parquet file), one row per example.

The features (``data.features``, default every column but the targets) are typed (:mod:`dltool.data.columns`)
and encoded into one float matrix fitted on the training split (:mod:`dltool.data.table_encoder`). A numeric
target of other values than 0 and 1 is a regression, any other a classification (``data.task`` forces it);
several targets not all regressions are named outputs (:func:`named_outputs`). A row missing a target
is dropped (logged); missing features follow ``data.missing``. docs/data.md has the details.

Example:
    >>> from dltool.data.tables import CSVConfig
    >>> data = load(CSVConfig(path="houses.csv", target="price"), seed=0)  # doctest: +SKIP
    >>> data.spec.task, data.x_train.shape[1]  # doctest: +SKIP
    ('regression', 12)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from dltool.data import column_inputs
from dltool.data.base import Dataset, DataSpec, OutputSpec, index_dataset, take
from dltool.data.columns import declared, infer
from dltool.data.table_encoder import Encoder, TableRows, missing_counts
from dltool.data.table_plan import Plan
from dltool.data.tables import MISSING_CATEGORY, Table, category, column, read_table
from dltool.errors import ConfigError

if TYPE_CHECKING:
    from dltool.data.tables import CSVConfig

log = logging.getLogger(__name__)


def spec(cfg: CSVConfig) -> DataSpec:
    """Reads the file (once per version of it): feature count after one-hot encoding, task, classes."""
    return _spec(_plan(cfg, read_table(cfg)))


def _spec(plan: Plan) -> DataSpec:
    if plan.tokens or plan.images or plan.embedded:  # model inputs of their own: dltool.data.column_inputs
        found = column_inputs.spec(plan)
    else:
        outputs = len(plan.class_names) if plan.task == "multiclass" else len(plan.targets)
        found = DataSpec((plan.width,), plan.task, outputs, plan.class_names, tabular=True)
    if plan.outputs:  # the features' spec, with these named outputs instead of its single one
        return replace(found, task="multioutput", num_classes=1, class_names=None, outputs=dict(plan.outputs))
    return found


def check(cfg: CSVConfig) -> None:
    """Before training: the file exists, its header holds the target and feature columns."""
    _plan(cfg, read_table(cfg))


def load(cfg: CSVConfig, seed: int) -> Dataset:
    """Encode the targets, split, then fit the feature preprocessing on the training rows."""
    table, plan, rows, data = _split(cfg, seed)
    encoder = Encoder.fit(plan, TableRows(table, rows[data.x_train]), cfg.normalize)
    announce_types(plan)
    features = encoder.inputs(table, rows)
    for split in ("train", "val", "test"):
        setattr(data, f"x_{split}", take(features, getattr(data, f"x_{split}")))
    missing = missing_counts(table, rows, encoder.columns)
    dropped = dropped_rows(len(table.columns[table.header[0]]) - len(rows), cfg)
    data.decisions = dropped + encoder.decisions(missing) + encoder.type_decisions(plan)
    return data


def dropped_rows(count: int, cfg: CSVConfig) -> list[str]:
    """The decision line of the rows a table lost (none when it lost none).

    >>> from dltool.data.tables import CSVConfig
    >>> dropped_rows(3, CSVConfig(missing="drop")), dropped_rows(0, CSVConfig())
    (['3 rows dropped (a missing target, or data.missing=drop)'], [])
    """
    return [f"{count} rows dropped (a missing target, or data.missing={cfg.missing})"] if count else []


def announce_types(plan: Plan) -> None:
    """One log line per feature column: its type and why."""
    for name in dict.fromkeys(plan.features):  # 0/1: in two
        log.info("data: column %s: %s (%s)", name, plan.kind(name), plan.why[name])


def fitted_encoder(cfg: CSVConfig, seed: int) -> Encoder:
    """The feature encoding a run with this data config and seed trained with (for ``dltool predict``)."""
    table, plan, rows, data = _split(cfg, seed)
    return Encoder.fit(plan, TableRows(table, rows[data.x_train]), cfg.normalize)


def split_rows(cfg: CSVConfig, seed: int) -> dict[str, np.ndarray]:
    """The rows of the table (0: the first after the header) in the ``train``, ``val`` and ``test`` splits of a run
    with this data config and seed: what another model must fit and score on to be compared with it."""
    _, _, rows, data = _split(cfg, seed)
    return {split: rows[getattr(data, f"x_{split}")] for split in ("train", "val", "test")}


def column_types(cfg: CSVConfig) -> dict[str, str]:
    """The type of each feature column (``number``, ``binary``, ``category``, ``text``), in the table's order."""
    plan = _plan(cfg, read_table(cfg))
    return {name: plan.kind(name) for name in read_table(cfg).header if name in plan.why}


def _split(cfg: CSVConfig, seed: int) -> tuple[Table, Plan, np.ndarray, Dataset]:
    """The table, its plan, the rows kept and a dataset of their indices into those rows."""
    table = read_table(cfg)
    plan = _plan(cfg, table)
    rows = _rows_kept(cfg, table, plan)
    return table, plan, rows, index_dataset(_spec(plan), cfg, seed, _targets(table, plan, rows))


def _targets(table: Table, plan: Plan, rows: np.ndarray) -> np.ndarray | dict[str, np.ndarray]:
    if plan.outputs:  # named outputs: each its column's targets
        pairs = zip(plan.outputs.items(), plan.targets, strict=True)
        return {name: _target(table, column, out.class_names, rows) for (name, out), column in pairs}
    if plan.task == "regression":
        y = np.stack([table.floats(t)[rows] for t in plan.targets], axis=1)
        return y[:, 0] if len(plan.targets) == 1 else y
    return _target(table, plan.targets[0], plan.class_names, rows)


def _target(table: Table, column: str, class_names: tuple[str, ...] | None, rows: np.ndarray) -> np.ndarray:
    """One target column's values of ``rows`` (a regression: no class names), or their class indices."""
    if class_names is None:
        return table.floats(column)[rows]
    return np.array([class_names.index(_class_name(c)) for c in table.columns[column][rows]])


def target_and_feature_columns(cfg: CSVConfig, table: Table) -> tuple[tuple[str, ...], list[str]]:
    """The target columns and the feature columns of the config, checked against the table's header."""
    if cfg.targets is not None:  # named outputs of a table without named inputs
        if not cfg.targets:
            raise ConfigError("data.targets is empty: name the target column of each output ({output: column})")
        targets = tuple(column(table, str(c), f"data.targets.{name}") for name, c in cfg.targets.items())
    else:
        targets = tuple(column(table, t, "data.target") for t in _as_list(cfg.target))
    if not targets:
        raise ConfigError("data.target is empty: name the target column(s)")
    names = cfg.features if cfg.features is not None else [c for c in table.header if c not in targets]
    features = [column(table, f, "data.features") for f in names]
    if not features:
        raise ConfigError(f"data.features: no feature column left in {table.path} besides the targets")
    return targets, features


def _plan(
    cfg: CSVConfig, table: Table, seen: dict[str, set[str]] | None = None, target_table: Table | None = None
) -> Plan:
    """The plan of the table's columns. For a table read in parts, ``table`` is its first rows (the feature types are
    inferred from them), ``seen`` each category or binary column's values in the whole file (missing ones as
    ``<missing>``) and ``target_table`` its target columns, whole."""
    targets, features = target_and_feature_columns(cfg, table)
    types = _types(cfg, table, features)
    numbers, tokens, images, embedded = column_inputs.own_inputs(cfg, table, types)
    categories, binary = {}, {}
    for name in features:
        kind = types[name][0]
        if kind not in ("category", "binary") or name in embedded:
            continue
        found = seen[name] if seen is not None else {category(c) for c in table.columns[name]}
        if kind == "category":
            categories[name] = tuple(sorted(found))
        else:
            binary[name] = None if _zero_one(found - {MISSING_CATEGORY}) else tuple(sorted(found - {MISSING_CATEGORY}))
            if binary[name] is not None and len(binary[name]) != 2:
                raise ConfigError(
                    f"data.columns.{name}=binary: column {name!r} holds {len(binary[name])} values, not 2; "
                    "make it a category"
                )
    target_table = table if target_table is None else target_table
    outputs = named_outputs(cfg, targets, lambda name: OutputSpec.of(*_task(cfg, target_table, (name,))))
    task, class_names = ("multioutput", None) if outputs else _task(cfg, target_table, targets)
    return Plan(
        targets,
        tuple(f for f in features if types[f][0] == "number" or binary.get(f, ()) is None),
        categories,
        task,
        class_names,
        binary,
        tuple(f for f in features if types[f][0] == "text"),
        {name: why for name, (_, why) in types.items()},
        cfg.max_categories,
        cfg.text_tokens,
        tuple(numbers),
        tokens,
        cfg.sequence_length,
        images,
        embedded,
        cfg.number_bins,
        outputs,
    )


def named_outputs(
    cfg: CSVConfig, targets: tuple[str, ...], output: Callable[[str], OutputSpec]
) -> dict[str, OutputSpec]:
    """The named outputs of the target columns (``output``: a column's task and classes), in their order: one per
    target of ``data.targets``, or of several ``data.target`` columns not all regressions; else none (a single
    target, or one multi-output regression).

    >>> kinds = {"kind": OutputSpec("multiclass", 3, ("a", "b", "c")), "price": OutputSpec("regression")}
    >>> cfg = type("Cfg", (), {"targets": None})()
    >>> list(named_outputs(cfg, ("kind", "price"), kinds.get)), named_outputs(cfg, ("price", "price"), kinds.get)
    (['kind', 'price'], {})
    """
    if cfg.targets is None and len(targets) < 2:
        return {}
    names = list(cfg.targets) if cfg.targets is not None else list(targets)
    found = {str(name): output(column) for name, column in zip(names, targets, strict=True)}
    if cfg.targets is None and all(out.task == "regression" for out in found.values()):
        return {}
    return found


def _zero_one(values: set[str]) -> bool:
    """Whether every value is a number, 0 or 1 (``0``, ``1.0``, ...)."""
    try:
        return {float(v) for v in values} <= {0.0, 1.0}
    except ValueError:
        return False


def _types(cfg: CSVConfig, table: Table, features: list[str]) -> dict[str, tuple[str, str]]:
    """Each feature's type and why: ``data.columns``, else ``data.categorical``, else inferred from its cells."""
    given = declared(cfg.columns, table.header, table.path)
    listed = [column(table, c, "data.categorical") for c in cfg.categorical or ()]
    types = {}
    for name in features:
        numeric = table.numeric(name)
        if name in given:
            if given[name] == "number" and not numeric:
                example = table.columns[name][~table.missing(name)][0]
                raise ConfigError(f"data.columns.{name}=number: column {name!r} holds text ({example!r})")
            types[name] = (given[name], f"data.columns.{name}")
        elif cfg.categorical is not None:
            types[name] = ("category", "data.categorical") if name in listed else ("number", "numbers")
        else:
            present = ~table.missing(name)
            values = table.floats(name)[present] if numeric else None
            types[name] = infer(table.columns[name][present], numeric, values, table.path.parent)
    return types


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
    classes = _classes(table, targets[0])
    if task == "binary" and len(classes) != 2:
        raise ConfigError(f"data.task=binary: column {targets[0]!r} holds {len(classes)} classes, not 2")
    return task, classes


def _classes(table: Table, target: str) -> tuple[str, ...]:
    """The target's values, sorted as numbers when they are numbers."""
    values = {_class_name(c) for c in table.columns[target][~table.missing(target)]}
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
    first: dict[str, int] = {}
    incomplete = missing_features(table, plan.targets, plan.features, 2, first) if cfg.missing != "fill" else None
    return np.flatnonzero(kept_rows(cfg, plan, table, incomplete, first))


def missing_features(
    table: Table, targets: tuple[str, ...], features: Sequence[str], first_line: int, first_missing: dict[str, int]
) -> np.ndarray:
    """Which rows of ``table`` (its first on line ``first_line``) have every target but miss a feature; each
    feature's first such line is added to ``first_missing``."""
    has_target = ~np.any([table.missing(t) for t in targets], axis=0)
    missing = [table.missing(n) & has_target for n in features]
    for name, rows in zip(features, missing, strict=True):
        if rows.any() and name not in first_missing:
            first_missing[name] = first_line + int(np.argmax(rows))
    return np.any(missing, axis=0)


def kept_rows(
    cfg: CSVConfig,
    plan: Plan,
    targets: Table,
    incomplete: np.ndarray | None,
    first_missing: dict[str, int],
    logger: logging.Logger = log,
) -> np.ndarray:
    """Rows with all targets present, and with all features present under ``data.missing=drop`` (``incomplete``
    and ``first_missing``: :func:`missing_features` of the whole table)."""
    keep = ~np.any([targets.missing(t) for t in plan.targets], axis=0)
    if not keep.all():
        logger.info("data.path=%s: %d rows without a target dropped", cfg.path, int((~keep).sum()))
    if cfg.missing == "error" and first_missing:
        name = next(n for n in plan.features if n in first_missing)
        raise ConfigError(
            f"{targets.path}:{first_missing[name]}: column {name!r} has a missing value "
            "(data.missing=error; fill or drop them with data.missing=fill|drop)"
        )
    if cfg.missing == "drop" and incomplete is not None:
        keep &= ~incomplete
    if keep.sum() < 2:
        raise ConfigError(f"data.path={cfg.path}: {int(keep.sum())} usable rows (data.missing={cfg.missing})")
    return keep


def _as_list(value: object) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]
