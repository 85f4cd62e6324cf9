"""The samplers of ``dltool sweep``: one registry of names, and any Optuna sampler as a ``_target_`` node.

``sweep.sampler`` is a name of :data:`SAMPLERS` or a node such as
``{_target_: optuna.samplers.QMCSampler, scramble: true}``, built by Hydra's ``instantiate`` and
checked (import, ``allowed_targets``, arguments) by :func:`check_sampler` before the study exists.

Example:
    >>> sorted(SAMPLERS)
    ['cmaes', 'grid', 'nsga2', 'random', 'tpe']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import OmegaConf

from dltool.config.targets import check_arguments, class_arguments, require_class
from dltool.config.validate import RunConfig, check_allowed_targets, check_defined_where_named, import_target
from dltool.errors import ConfigError, did_you_mean

# sweep.sampler name -> builder(optuna.samplers, seed, grid of every parameter's values or None, number of
# params); the one list of names: the plan checks sweep.sampler against it
SAMPLERS: dict[str, Callable[[Any, int, dict[str, list[Any]] | None, int], Any]] = {
    "grid": lambda samplers, seed, grid, n_params: samplers.GridSampler(grid, seed=seed),
    "random": lambda samplers, seed, grid, n_params: samplers.RandomSampler(seed=seed),
    "tpe": lambda samplers, seed, grid, n_params: samplers.TPESampler(seed=seed, multivariate=n_params > 1),
    # CMA-ES handles numbers only: categorical parameters fall back to random sampling, quietly
    "cmaes": lambda samplers, seed, grid, n_params: samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False),
    "nsga2": lambda samplers, seed, grid, n_params: samplers.NSGAIISampler(seed=seed),
}


def make_sampler(spec: str | dict[str, Any], seed: int, grid: dict[str, list[Any]] | None, n_params: int) -> Any:
    """The sampler ``spec`` names (``grid`` needs every parameter's values), or the one its ``_target_`` node builds.

    A node without a ``seed`` gets ``seed`` when its class takes one, so that each worker proposes its own points.
    """
    if isinstance(spec, str):
        import optuna

        return SAMPLERS[spec](optuna.samplers, seed, grid, n_params)
    from hydra.utils import get_object, instantiate

    takes_seed = "seed" in class_arguments(get_object(spec["_target_"]))
    return instantiate(spec, **({"seed": seed} if takes_seed and "seed" not in spec else {}))


def check_sampler(spec: Any, run: RunConfig | None = None) -> None:
    """One line unless ``spec`` is a name of :data:`SAMPLERS` or a ``{_target_: ...}`` node of a class that
    imports and takes the node's other keys (and that the trials' ``allowed_targets`` admit, as any ``_target_``).

    >>> check_sampler("tpe")
    >>> check_sampler("tpr")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: sweep.sampler=tpr: must be one of grid, random, tpe, cmaes, nsga2 (did you mean tpe?)
    """
    if isinstance(spec, str) and spec in SAMPLERS:
        return
    if not isinstance(spec, dict) or "_target_" not in spec:
        raise ConfigError(
            f"sweep.sampler={spec}: must be one of {', '.join(SAMPLERS)}{did_you_mean(str(spec), SAMPLERS)}, "
            "or a mapping with a _target_, e.g. {_target_: optuna.samplers.QMCSampler}"
        )
    target = str(spec["_target_"])
    if run is not None and run.allowed_targets is not None:
        check_allowed_targets(OmegaConf.create({"sweep": {"sampler": spec}}), run.allowed_targets)
        check_defined_where_named([("sweep.sampler", target)])
    cls = require_class("sweep.sampler", target, import_target("sweep.sampler", target))
    check_arguments("sweep.sampler", target, cls, [key for key in spec if key != "_target_"])


def sampler_label(spec: str | dict[str, Any]) -> str:
    """How the sweep's first line names its sampler: ``tpe``, or the class name of a ``_target_`` node.

    >>> sampler_label({"_target_": "optuna.samplers.QMCSampler", "seed": 3})
    'QMCSampler'
    """
    return spec if isinstance(spec, str) else str(spec["_target_"]).rpartition(".")[2]
