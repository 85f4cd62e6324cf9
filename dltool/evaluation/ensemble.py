"""Weighted-average ensembles: members' compatibility, their weights, the combined outputs.

``ensemble.weights`` is ``equal``, a list (normalized to sum to 1), or ``auto``: the point of the
simplex that minimizes the validation log loss (mean squared error for regression), found with
SciPy's SLSQP from equal weights.

Example:
    >>> import numpy as np
    >>> outputs = [np.array([[0.9, 0.1]]), np.array([[0.5, 0.5]])]
    >>> combine(outputs, np.array([0.5, 0.5]))
    array([[0.7, 0.3]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dltool.data import DataSpec
from dltool.errors import ConfigError


def check_members(labels: Sequence[str], specs: Sequence[DataSpec]) -> None:
    """Exit 2, naming the runs, unless all members share the task, the label set and the input shape."""
    first, reference = labels[0], specs[0]
    for label, spec in zip(labels[1:], specs[1:], strict=True):
        for what, mine, theirs in (
            ("task", spec.task, reference.task),
            ("label set", spec.class_names or spec.num_classes, reference.class_names or reference.num_classes),
            ("input shape", spec.input_shape, reference.input_shape),
        ):
            if mine != theirs:
                raise ConfigError(
                    f"ensemble members differ in their {what}: {first} has {_show(theirs)}, {label} has {_show(mine)}"
                )


def _show(value: Any) -> str:
    return ",".join(value) if isinstance(value, tuple) and all(isinstance(v, str) for v in value) else str(value)


def combine(outputs: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """The weighted sum of the members' outputs (weights sum to 1)."""
    return np.tensordot(weights, np.stack(outputs), axes=1)


def explicit_weights(setting: Any, members: int) -> np.ndarray | None:
    """Weights for ``equal`` or a list (normalized); None for ``auto``; exit 2 otherwise."""
    if setting == "auto":
        return None
    if setting == "equal":
        return np.full(members, 1.0 / members)
    values = list(setting) if isinstance(setting, list | tuple) else None
    if values is None or len(values) != members or not all(isinstance(v, int | float) for v in values):
        raise ConfigError(
            f"ensemble.weights={setting}: must be equal, auto, or a list of {members} numbers like "
            f"[{', '.join(['0.5'] * members)}]"
        )
    weights = np.asarray(values, dtype="float64")
    if (weights < 0).any() or weights.sum() <= 0:
        raise ConfigError(f"ensemble.weights={setting}: weights must be >= 0 and not all 0")
    return weights / weights.sum()


def fit_weights(score: Any, outputs: Sequence[np.ndarray]) -> np.ndarray:
    """The weights on the simplex minimizing ``score(combined_outputs)``, from equal weights."""
    from scipy.optimize import minimize

    n = len(outputs)
    start = np.full(n, 1.0 / n)
    found = minimize(
        lambda w: score(combine(outputs, w)),
        start,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
    )
    weights = np.clip(found.x, 0.0, None)
    weights = weights / weights.sum()
    # SLSQP can stop early on a flat loss: never return worse than where it started
    return weights if score(combine(outputs, weights)) <= score(combine(outputs, start)) else start
