"""``data=csv``'s entry point, and its named inputs: a table's columns mapped to the names that ``model=mlp``'s
combiner or a ``model=graph`` reads.

``data.inputs`` maps each input name to its columns, ``data.targets`` each output name to its target column.
Each input's columns are encoded as :mod:`dltool.data.tabular` encodes features, into a vector of its own; each
target's task is inferred as a single target's is. The splits are random (several targets), and the table is
read in memory. Without ``data.inputs`` the table is read by :mod:`dltool.data.table_stream`: in parts when it
is larger than memory, else by :mod:`dltool.data.tabular`.

Example:
    >>> from dltool.data.tables import CSVConfig
    >>> cfg = CSVConfig(path="tickets.csv", inputs={"text": ["title"], "meta": ["size", "team"]},
    ...                 targets={"priority": "priority", "hours": "hours"})  # doctest: +SKIP
    >>> data = load(cfg, seed=0)  # doctest: +SKIP
    >>> sorted(data.x_train), data.spec.outputs["hours"].task  # doctest: +SKIP
    (['meta', 'text'], 'regression')
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

# the table's reading, planning and encoding are data=csv's own (its private helpers: one implementation)
from dltool.data import table_stream, tabular
from dltool.data.base import Dataset, DataSpec, InputSpec, OutputSpec, Source, index_dataset, named_spec
from dltool.errors import ConfigError

if TYPE_CHECKING:
    from dltool.data.tables import CSVConfig


@dataclass(frozen=True)
class Layout:
    """Each input's features (a tabular plan without targets), and the plan of the targets, a named output each."""

    table: tabular.Table
    inputs: dict[str, tabular.Plan]
    targets: tabular.Plan

    def joint(self) -> tabular.Plan:
        """A plan of every target and feature column, for the rows they all need (its features all as ``numeric``:
        only which columns they are is read from it)."""
        kinds = ("numeric", "categorical", "binary", "text", "sequence")  # the order of Plan.features
        features = tuple(f for kind in kinds for plan in self.inputs.values() for f in getattr(plan, kind))
        return dataclasses.replace(self.targets, numeric=features)


def named(cfg: CSVConfig) -> bool:
    """Whether the config maps the table to named inputs (and outputs; read in memory only)."""
    if (cfg.inputs is not None or cfg.targets is not None) and cfg.stream is True:
        raise ConfigError(
            "data.stream=true: a table of named inputs (data.inputs, data.targets) is read in memory only; "
            "set data.stream=auto or false, or give data.target and no named inputs"
        )
    return cfg.inputs is not None


def spec(cfg: CSVConfig) -> DataSpec:
    """Each input's width after encoding, each output's task and classes; the table's spec without names."""
    return _spec(layout(cfg)) if named(cfg) else table_stream.spec(cfg)


def _spec(found: Layout) -> DataSpec:
    return named_spec({name: InputSpec((plan.width,)) for name, plan in found.inputs.items()}, found.targets.outputs)


def check(cfg: CSVConfig) -> None:
    """Before training: the file exists and holds every column named."""
    if named(cfg):
        layout(cfg)
    else:
        table_stream.check(cfg)


def load(cfg: CSVConfig, seed: int) -> Dataset:
    """Encode the targets, split the rows, then fit each input's encoding on the training rows."""
    if not named(cfg):
        return table_stream.load(cfg, seed)
    found, rows, data, encoders = _fit(cfg, seed)
    for split in ("train", "val", "test"):
        index = rows[getattr(data, f"x_{split}")]
        setattr(data, f"x_{split}", {name: e.encode(found.table, index) for name, e in encoders.items()})
    dropped = len(found.table.columns[found.table.header[0]]) - len(rows)
    data.decisions = tabular.dropped_rows(dropped, cfg)
    for name, e in encoders.items():
        missing = tabular.missing_counts(found.table, rows, e.columns)
        data.decisions += [f"input {name!r}: {line}" for line in e.decisions(missing)]
    return data


def read_inputs(cfg: CSVConfig, seed: int, path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Names (``file:line``) and each input's encoded features of another CSV's rows, encoded as in the
    training run of this data config and seed (for ``dltool predict``)."""
    if not named(cfg):  # named outputs of a table's targets: its features as a single target's
        names, features = table_stream.fitted_encoder(cfg, seed).read(path, cfg.delimiter)
        return names, features if isinstance(features, dict) else {"input": features}  # the combiner's one input
    encoders = _fit(cfg, seed)[3]
    found = {name: encoder.read(path, cfg.delimiter) for name, encoder in encoders.items()}
    return next(iter(found.values()))[0], {name: features for name, (_, features) in found.items()}


def layout(cfg: CSVConfig) -> Layout:
    """The plans of ``data.inputs`` and ``data.targets`` over the table of ``data.path``."""
    if cfg.targets is None:
        raise ConfigError("data.inputs is set, data.targets is not: a table of named inputs needs both")
    if not cfg.inputs or not cfg.targets:
        raise ConfigError("data.inputs and data.targets: name at least one input and one target")
    table = tabular.read_table(cfg)
    targets, outputs = [], {}
    for name, column in cfg.targets.items():
        targets.append(tabular.column(table, str(column), f"data.targets.{name}"))
        outputs[name] = OutputSpec.of(*tabular._task(cfg, table, (targets[-1],)))
    inputs = {}
    for name, columns in cfg.inputs.items():
        columns = [columns] if isinstance(columns, str) else [str(c) for c in columns]
        if not columns:
            raise ConfigError(f"data.inputs.{name}: empty; name its columns")
        for column in columns:
            tabular.column(table, column, f"data.inputs.{name}")
            if column in cfg.targets.values():
                raise ConfigError(f"data.inputs.{name}: {column!r} is a target column (data.targets)")
        inputs[name] = _plan(cfg, table, str(next(iter(cfg.targets.values()))), columns)
        own = [*inputs[name].tokens, *inputs[name].images, *inputs[name].embedded]
        if own:  # ids and images are not features of a vector: such a column is an input of its own
            raise ConfigError(
                f"data.inputs.{name}: column {own[0]!r} ({inputs[name].kind(own[0])}) is read as a model input of "
                "its own without data.inputs and data.targets (one target); list number, binary, category, text "
                "or number-sequence columns here"
            )
    return Layout(table, inputs, tabular.Plan(tuple(targets), (), {}, "multioutput", None, outputs=outputs))


def _plan(cfg: CSVConfig, table: tabular.Table, target: str, features: list[str]) -> tabular.Plan:
    """The tabular plan of one target and these feature columns (categorical: the config's, else the text ones)."""
    categorical = None if cfg.categorical is None else [c for c in cfg.categorical if c in features]
    one = dataclasses.replace(cfg, target=target, features=features, categorical=categorical, inputs=None, targets=None)
    return tabular._plan(one, table)


def _fit(cfg: CSVConfig, seed: int) -> tuple[Layout, np.ndarray, Dataset, dict[str, tabular.Encoder]]:
    """The layout, the rows kept, the split of row numbers, and each input's encoder fitted on the training rows."""
    found = layout(cfg)
    rows = tabular._rows_kept(cfg, found.table, found.joint())
    data = index_dataset(_spec(found), cfg, seed, tabular._targets(found.table, found.targets, rows))
    train = rows[data.x_train]
    encoders = {
        name: tabular.Encoder.fit(p, tabular.TableRows(found.table, train), cfg.normalize)
        for name, p in found.inputs.items()
    }
    return found, rows, data, encoders


SOURCE = Source(spec, load, check)
