"""Schema of ``dltool sweep``'s settings (``conf/sweep/``), read by ``dltool.sweep.plan``.

``sampler`` is a name of ``dltool.sweep.samplers.SAMPLERS`` or an Optuna sampler node with a
``_target_``, ``pruner`` a name of ``dltool.sweep.study.PRUNERS``: those registries, next to the code
that builds them, are what the plan checks them against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dltool.config.fields import opt


@dataclass
class SweepConfig:
    """``dltool sweep``'s settings (``conf/sweep/``); ``dltool train`` refuses them."""

    params: dict[str, Any] = opt(
        {}, "search space: key -> choice(a,b) | range(lo,hi,step=s) | interval(lo,hi) | tag(log,interval(lo,hi))"
    )
    overrides: list[str] = opt([], "fixed overrides every trial gets, before the command line's")
    sampler: Any = opt(
        "tpe", "grid | random | tpe (Bayesian) | cmaes | nsga2 (several metrics) | {_target_: optuna.samplers.X, ...}"
    )
    pruner: str = opt("none", "none | median | hyperband | successive_halving: stop poor trials early")
    metric: Any = opt("best_val_accuracy", "results.json key to optimize (a list of keys with nsga2)")
    direction: Any = opt("maximize", "maximize | minimize (a list, one per metric)")
    n_trials: int = opt(20, "finished trials (completed or pruned) the study should hold", gt=0)
    timeout: float | None = opt(None, "start no trial after this many seconds", gt=0.0)
    n_jobs: int = opt(1, "trials run at once by this process", gt=0)
    gpus_per_trial: Any = opt("auto", "GPUs each trial sees: auto (1 when there are GPUs, else none) or a number")
    seed: int = opt(0, "sampler seed of the process that creates the study (others derive theirs)", ge=0)
    storage: str | None = opt(None, "SQLAlchemy URL of the study (null: sqlite:///<sweep dir>/study.db)")
    study_name: str | None = opt(None, "study name in the storage (null: from the sweep directory)")
    resume: str | None = opt(None, "a sweep directory to continue")
    max_failures: int = opt(3, "stop after this many failed trials in a row", gt=0)
    heartbeat_grace_s: int = opt(
        60, "a trial silent this long lost its worker (run again); a worker waits this long on a lost database", gt=0
    )
    isolation: str = opt(
        "worker",
        "worker: a process per slot runs trial after trial (TensorFlow imported once) | process: one per trial",
        choices=("worker", "process"),
    )
    worker_trials: int = opt(20, "trials a worker runs before a fresh one replaces it", gt=0)
    worker_max_rss_mb: float | None = opt(8192.0, "a worker above this resident memory (MiB) is replaced", gt=0.0)
