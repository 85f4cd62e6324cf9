"""From a ``dltool sweep`` command line to a checked plan, before any trial starts.

The command line mixes three kinds of overrides: the sweep's settings (``sweep=<preset>``,
``sweep.*``), searched keys written in Hydra's sweep grammar (``optimizer.learning_rate=
'tag(log,interval(1e-4,1e-1))'``, ``model=mlp,cnn``), and fixed overrides every trial gets.
Every searched key is composed and validated at the ends of its range (and at each of its
choices) first, so a typo or a bad value is one line and exit 2, not a failed trial.

Example:
    >>> plan = make_plan(["sweep=quick", "sweep.n_trials=6"])  # doctest: +SKIP
    >>> plan.settings.n_trials, list(plan.space)  # doctest: +SKIP
    (6, ['optimizer.learning_rate', 'model.hidden_units'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from dltool.config import HydraArgs, compose, validate, validate_sweep
from dltool.config.compose import unique_run_dir
from dltool.config.sweep import SweepConfig
from dltool.errors import ConfigError, did_you_mean, first_line
from dltool.sweep.samplers import check_sampler
from dltool.sweep.space import Param, from_override, parse_space
from dltool.sweep.study import check_pruner
from dltool.training.backend import check_run_imports

PLAN_FILE = "sweep.yaml"
RESUMABLE = (
    "sweep.n_trials",
    "sweep.n_jobs",
    "sweep.timeout",
    "sweep.max_failures",
    "sweep.gpus_per_trial",
    "sweep.heartbeat_grace_s",
    "sweep.isolation",
    "sweep.worker_trials",
    "sweep.worker_max_rss_mb",
)
METRIC = re.compile(r"^(best_val_\w+|test_\w+|params\.(total|trainable)|epochs_run|train_time_s|samples_per_s)$")
METRIC_EXAMPLES = ("best_val_accuracy", "best_val_loss", "test_accuracy", "test_loss", "params.total", "train_time_s")


@dataclass
class SweepPlan:
    """Everything a sweep (or its resumption) needs; saved as ``sweep.yaml`` in the sweep directory."""

    sweep_dir: Path
    argv: list[str]  # the command line, replayed by sweep.resume
    settings: SweepConfig
    space: dict[str, Param]
    base_overrides: list[str]  # fixed overrides of every trial: the preset's, then the command line's
    hydra_flags: list[str]  # --config-dir/--config-path/--config-name, passed on to each trial
    storage: str
    study_name: str
    epochs: int  # trainer.epochs of the trials: the pruners' resource
    metrics: list[str]
    directions: list[str]
    custom_callbacks: list[Any]  # the trials' own callbacks.custom, kept beside the pruning reporter

    @property
    def monitor(self) -> str | None:
        """The per-epoch metric reported for pruning (``best_val_accuracy`` -> ``val_accuracy``)."""
        first = self.metrics[0]
        return first.removeprefix("best_") if first.startswith("best_val_") else None


def make_plan(argv: list[str]) -> SweepPlan:
    """Check a ``dltool sweep`` command line; create (or, with ``sweep.resume``, reopen) its directory."""
    args = HydraArgs.parse(argv)
    if args.informational:
        raise ConfigError("dltool sweep: --cfg/--info/--help are answered by `dltool train` (same overrides)")
    resume = next((o.split("=", 1)[1] for o in args.overrides if o.startswith("sweep.resume=")), None)
    sweep_dir = Path(resume) if resume else None
    if sweep_dir is not None:
        argv = _resumed_argv(sweep_dir, argv)
        args = HydraArgs.parse(argv)
    flags = [flag for d in args.config_dirs for flag in ("--config-dir", d)]
    flags += ["--config-path", args.config_path] if args.config_path else []
    flags += ["--config-name", args.config_name] if args.config_name != "config" else []
    settings_overrides, cli_space, fixed = _split(args.overrides)

    def composed(overrides: list[str]) -> Any:
        return compose(overrides, args.config_name, args.config_dirs, args.config_path)

    preset = [o for o in settings_overrides if _key(o) == "sweep"] or ["sweep=default"]
    cfg = composed([*fixed, *preset])
    settings = validate_sweep(cfg.get("sweep"), [o for o in settings_overrides if _key(o) != "sweep"])
    space = parse_space(settings.params)
    space.update(cli_space)
    if not space:
        raise ConfigError("sweep: no search space; choose a preset (sweep=<name>) or search a key, e.g. x=choice(1,2)")
    base = [*_fixed_preset_overrides(settings.overrides), *fixed]
    base = [o for o in base if _key(o) not in space]  # a searched key wins over a fixed value
    base_cfg = composed(base)
    run = validate(base_cfg)
    check_run_imports(base_cfg, run)
    metrics, directions = _objectives(settings)
    check_sampler(settings.sampler, run)
    check_pruner(settings.pruner)
    _check_settings(settings, space, metrics)
    _check_space(space, base, composed)

    if sweep_dir is None:
        now = datetime.now()
        sweep_dir = Path(unique_run_dir(f"outputs/sweeps/{now:%Y-%m-%d}/{now:%H-%M-%S}", run.name))
    sweep_dir = sweep_dir.resolve()
    plan = SweepPlan(
        sweep_dir=sweep_dir,
        argv=[a for a in argv if not a.startswith("sweep.resume=")],
        settings=settings,
        space=space,
        base_overrides=base,
        hydra_flags=flags,
        storage=settings.storage or f"sqlite:///{sweep_dir / 'study.db'}",
        study_name=settings.study_name or f"{sweep_dir.parent.name}_{sweep_dir.name}",
        epochs=run.trainer.epochs,
        metrics=metrics,
        directions=directions,
        custom_callbacks=OmegaConf.to_container(base_cfg.callbacks.custom, resolve=True),
    )
    _save(plan)
    return plan


def _resumed_argv(sweep_dir: Path, argv: list[str]) -> list[str]:
    """The saved command line, with the few settings a resumption may change appended."""
    saved = sweep_dir / PLAN_FILE
    if not saved.is_file():
        raise ConfigError(f"sweep.resume={sweep_dir}: not a sweep directory (no {PLAN_FILE})")
    extra = [a for a in argv if not a.startswith("sweep.resume=")]
    for override in extra:
        if _key(override) not in RESUMABLE:
            raise ConfigError(
                f"sweep.resume: {override} cannot change on resume (the search must stay the same); "
                f"allowed: {', '.join(RESUMABLE)}"
            )
    return [*OmegaConf.to_container(OmegaConf.load(saved))["argv"], *extra]


def _split(overrides: list[str]) -> tuple[list[str], dict[str, Param], list[str]]:
    """(sweep settings, searched keys from the command line, fixed overrides)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    settings, space, fixed = [], {}, []
    for line in overrides:
        try:
            (override,) = OverridesParser.create().parse_overrides([line])
        except OverrideParseException as err:
            raise ConfigError(f"cannot parse the override {line}: {first_line(err)}") from None
        key = override.key_or_group
        if key == "sweep" or key.startswith("sweep."):
            settings.append(line)
        elif override.is_sweep_override():
            if override.is_add() or override.is_force_add() or override.is_delete():
                raise ConfigError(f"{line}: a searched key is a plain key (no +, ++ or ~ prefix)")
            space[key] = from_override(key, line.split("=", 1)[1], override)
        else:
            fixed.append(line)
    return settings, space, fixed


def _fixed_preset_overrides(overrides: list[str]) -> list[str]:
    """``sweep.overrides`` must be plain overrides: a search belongs in ``sweep.params``."""
    settings, space, fixed = _split(list(overrides))
    if settings or space:
        bad = (settings or list(space))[0]
        raise ConfigError(f"sweep.overrides: {bad}: put searched keys in sweep.params and settings in sweep.*")
    return fixed


def _objectives(settings: SweepConfig) -> tuple[list[str], list[str]]:
    metrics = list(settings.metric) if isinstance(settings.metric, list | tuple) else [settings.metric]
    directions = list(settings.direction) if isinstance(settings.direction, list | tuple) else [settings.direction]
    if len(directions) != len(metrics):
        raise ConfigError(f"sweep.direction: {len(directions)} direction(s) for {len(metrics)} metric(s)")
    for metric in metrics:
        if not METRIC.match(str(metric)):
            raise ConfigError(
                f"sweep.metric={metric}: not a results.json metric{did_you_mean(str(metric), METRIC_EXAMPLES)}; "
                f"use best_val_<metric>, test_<metric>, params.total, epochs_run or train_time_s"
            )
    for direction in directions:
        if direction not in ("maximize", "minimize"):
            raise ConfigError(
                f"sweep.direction={direction}: must be maximize or minimize"
                f"{did_you_mean(str(direction), ('maximize', 'minimize'))}"
            )
    return [str(m) for m in metrics], [str(d) for d in directions]


def _check_settings(settings: SweepConfig, space: dict[str, Param], metrics: list[str]) -> None:
    if settings.pruner != "none":
        if len(metrics) > 1:
            raise ConfigError(f"sweep.pruner={settings.pruner}: Optuna prunes single-metric studies only")
        if not metrics[0].startswith("best_val_"):
            raise ConfigError(
                f"sweep.pruner={settings.pruner}: pruning needs a per-epoch validation metric; "
                f"sweep.metric={metrics[0]} is not one (use best_val_<metric>, or sweep.pruner=none)"
            )
    if settings.sampler == "grid":
        continuous = [key for key, param in space.items() if param.grid is None]
        if continuous:
            raise ConfigError(
                f"sweep.sampler=grid: {continuous[0]}={space[continuous[0]].expression} has no grid; "
                "use choice(...) or range(...), or another sampler"
            )
    gpus = settings.gpus_per_trial
    if gpus != "auto" and not (isinstance(gpus, int) and gpus >= 0):
        raise ConfigError(f"sweep.gpus_per_trial={gpus}: must be auto or a number >= 0")


def _check_space(space: dict[str, Param], base: list[str], composed: Any) -> None:
    """Compose and validate every searched key at each of its check values (the others at their first)."""
    first = {key: f"{key}={param.check_values[0]}" for key, param in space.items()}
    combos = [list(first.values())]
    for key, param in space.items():
        for value in param.check_values[1:]:
            combos.append([f"{key}={value}" if k == key else o for k, o in first.items()])
    for combo in combos:
        try:
            cfg = composed([*base, *combo])
            check_run_imports(cfg, validate(cfg))
        except ConfigError as err:
            raise ConfigError(f"search space: {err}") from None


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _save(plan: SweepPlan) -> None:
    from dltool.rundir import write_json

    plan.sweep_dir.mkdir(parents=True, exist_ok=True)
    saved = {
        "argv": plan.argv,
        "storage": plan.storage,
        "study_name": plan.study_name,
        "search_space": {key: param.expression for key, param in plan.space.items()},
        "base_overrides": plan.base_overrides,
    }
    # YAML is JSON's superset: the atomic JSON writer gives a valid sweep.yaml
    write_json(plan.sweep_dir / PLAN_FILE, saved)
