"""``data=csv`` with several targets of different kinds: one named output per target column.

``data.target=[priority, hours]`` whose columns are not all regressions (each column's task inferred as a
single target's is, or ``data.task`` for each), or ``data.targets={output: column}`` without
``data.inputs``, makes one named output per target (named after its column, or as ``data.targets`` names
it), each with its task and classes. The features are read and encoded as for a single target
(:mod:`dltool.data.tabular`); ``model=mlp``'s combiner gives each output its head. Several targets that are
all regressions (``data.target`` only) stay one multi-output regression. The splits are drawn at random
(stratified only for a single classification target), and the table is read in memory.

Example:
    >>> from dltool.data.base import OutputSpec
    >>> kinds = {"kind": OutputSpec("multiclass", 3, ("a", "b", "c")), "price": OutputSpec("regression")}
    >>> cfg = type("Cfg", (), {"targets": None})()
    >>> list(outputs(cfg, ("kind", "price"), kinds.get)), outputs(cfg, ("price", "price"), kinds.get)
    (['kind', 'price'], {})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dltool.data.base import DataSpec, OutputSpec


def outputs(cfg: Any, targets: tuple[str, ...], output: Callable[[str], OutputSpec]) -> dict[str, OutputSpec]:
    """The named outputs of the target columns (``output``: a column's task and classes), in their order; empty
    for a single target, or for several of ``data.target`` that are all regressions (one output)."""
    if cfg.targets is None and len(targets) < 2:
        return {}
    names = list(cfg.targets) if cfg.targets is not None else list(targets)
    found = {str(name): output(column) for name, column in zip(names, targets, strict=True)}
    if cfg.targets is None and all(out.task == "regression" for out in found.values()):
        return {}
    return found


def named(spec: DataSpec, found: dict[str, OutputSpec]) -> DataSpec:
    """The single-output spec of the features, with these named outputs instead."""
    return replace(spec, task="multioutput", num_classes=1, class_names=None, outputs=dict(found))
