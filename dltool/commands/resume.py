"""``dltool train resume=<run dir>`` (or ``resume=latest``): continue a run in its own directory.

The run's saved config (``.hydra/config.yaml``) is the config of the resumed run. Only
``trainer.epochs`` (raise it to extend a finished run), ``trainer.devices`` (resume on another
machine) and ``allowed_targets`` (what the config's targets may import) may change; any other
override would make it a different experiment and is refused with a line naming the key. Hydra
is told not to rewrite ``.hydra/``: the first run's ``overrides.yaml`` stays, each resume is
appended to ``.hydra/resumes.yaml``, and ``config.yaml`` gets the new epochs. Nothing here imports TensorFlow.

Example:
    >>> plan = plan_resume("latest", ["trainer.epochs=20"])  # doctest: +SKIP
    >>> plan.run_dir, plan.chosen  # doctest: +SKIP
    (PosixPath('outputs/2026-11-23/10-00-00'), 'latest: the newest run under outputs/')
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from dltool.errors import ConfigError, did_you_mean
from dltool.rundir import read_results

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from dltool.config import RunConfig

KEY = "resume"
ALLOWED = ("trainer.epochs", "trainer.devices", "allowed_targets")  # allowed_targets: a safety setting, not training
STATE = Path("checkpoints/backup/state.json")
HISTORY = ".hydra/resumes.yaml"


@dataclass
class ResumePlan:
    """Where to resume, why that directory, and the overrides applied on top of its config."""

    run_dir: Path
    overrides: list[str]
    chosen: str

    @property
    def saved_config(self) -> Path:
        return self.run_dir / ".hydra" / "config.yaml"

    def saved_epochs(self) -> int:
        return int(yaml.safe_load(self.saved_config.read_text())["trainer"]["epochs"])

    def completed(self) -> bool:
        return read_results(self.run_dir).get("status") == "completed"


def resume_config(value: str, overrides: list[str], multirun: bool) -> tuple[ResumePlan, DictConfig]:
    """``dltool train resume=VALUE``: the plan (checked: one line and exit 2 if wrong) and the run's saved config
    composed with its ``hydra`` node and the overrides (only those that keep it the same experiment)."""
    from dltool.config import HydraArgs, builtin_config_dir, compose

    plan = plan_resume(value, overrides, multirun)
    with hydra_arguments(plan, builtin_config_dir()) as argv:
        args = HydraArgs.parse(argv)
        cfg = compose(args.overrides, args.config_name, [], args.config_path, with_hydra=True)
    check_unchanged(plan, cfg)
    return plan, cfg


def check_resumable(value: str, plan: ResumePlan, run: RunConfig) -> None:
    """``resume=VALUE``'s validated config can continue the run: epochs only up, not a multi-worker run; then say
    which run it continues."""
    from dltool.console import console

    check_epochs(plan, run.trainer.epochs)
    if run.trainer.strategy == "multi_worker":  # its workers' backups are not kept: only the chief's
        raise ConfigError(f"resume={value}: a trainer.strategy=multi_worker run cannot be resumed; start it anew")
    console.print(f"resuming {plan.run_dir} ({plan.chosen})", highlight=False)


def split_resume(overrides: list[str]) -> tuple[str | None, list[str]]:
    """``resume=X`` taken out of the overrides: ``(X, the others)``, or ``(None, overrides)``."""
    value, rest = None, []
    for override in overrides:
        key, _, val = override.partition("=")
        if key.lstrip("+") == KEY and val not in ("", "null"):
            value = val
        else:
            rest.append(override)
    return value, rest


def plan_resume(value: str, overrides: list[str], multirun: bool = False) -> ResumePlan:
    """Check that ``value`` names a resumable run and that ``overrides`` keep it the same experiment."""
    if multirun:
        raise ConfigError(f"resume={value}: resumes one run; drop -m/--multirun")
    if value == "latest":
        run_dir, chosen = latest_run(Path("outputs")), "latest: the newest run under outputs/"
    else:
        run_dir, chosen = Path(value).expanduser(), "given"
    if not (run_dir / ".hydra" / "config.yaml").is_file():
        raise ConfigError(f"resume={value}: {run_dir} is not a run directory (no .hydra/config.yaml)")
    for override in overrides:
        key = override.partition("=")[0].lstrip("+~")
        if "." not in key and key not in ALLOWED:  # a group choice (model=cnn) or a top-level key
            raise _changed(value, key)
    plan = ResumePlan(run_dir.resolve(), overrides, chosen)
    if plan.completed() and not (run_dir / STATE).is_file():
        raise ConfigError(
            f"resume={value}: {run_dir} completed and kept no resumable state (callbacks.backup_and_restore=false?)"
        )
    return plan


def check_unchanged(plan: ResumePlan, composed: Any) -> None:
    """Overrides of other keys than ``ALLOWED`` are accepted only when they repeat the saved value."""
    from omegaconf import OmegaConf

    saved = OmegaConf.create(yaml.safe_load(plan.saved_config.read_text()))
    for override in plan.overrides:
        key = override.partition("=")[0].lstrip("+~")
        if key in ALLOWED:
            continue
        now, before = OmegaConf.select(composed, key), OmegaConf.select(saved, key)
        as_plain = [OmegaConf.to_container(v) if OmegaConf.is_config(v) else v for v in (now, before)]
        if as_plain[0] != as_plain[1]:
            raise _changed(str(plan.run_dir), key)


def _changed(value: str, key: str) -> ConfigError:
    return ConfigError(
        f"resume={value}: {key} cannot change when resuming (it would be another experiment); "
        f"only {', '.join(ALLOWED)} can{did_you_mean(key, ALLOWED)}. Start a new run to change {key}"
    )


def check_epochs(plan: ResumePlan, epochs: int) -> None:
    """``trainer.epochs`` may only go up, and must go up to extend a completed run."""
    done = json.loads((plan.run_dir / STATE).read_text())["epoch"] if (plan.run_dir / STATE).is_file() else 0
    if epochs < done:
        raise ConfigError(f"trainer.epochs={epochs}: {plan.run_dir} already trained {done} epochs; it can only go up")
    saved = plan.saved_epochs()
    if plan.completed() and epochs <= saved:
        raise ConfigError(
            f"resume: {plan.run_dir} completed its {saved} epochs; extend it with trainer.epochs=<more than {saved}>"
        )


def latest_run(outputs: Path) -> Path:
    """The run directory under ``outputs`` with the most recent activity (results, backup or start)."""
    runs = [p.parent.parent for p in outputs.rglob(".hydra/config.yaml")]
    if not runs:
        raise ConfigError(f"resume=latest: no run directory under {outputs.resolve()}")

    def last_activity(run: Path) -> float:
        files = (run / "results.json", run / STATE, run / ".hydra" / "config.yaml")
        return max(f.stat().st_mtime for f in files if f.exists())

    return max(runs, key=last_activity)


@contextlib.contextmanager
def hydra_arguments(plan: ResumePlan, builtin: Path) -> Iterator[list[str]]:
    """The ``dltool train`` arguments that run Hydra on the saved config, in the run's own directory.

    The saved config becomes a primary config (in a temporary folder) whose defaults add only
    dltool's Hydra settings (run-dir logging into train.log); ``hydra.output_subdir=null`` keeps
    Hydra from rewriting ``.hydra/``.
    """
    saved = yaml.safe_load(plan.saved_config.read_text())
    with tempfile.TemporaryDirectory(prefix="dltool-resume-") as tmp:
        primary = {"defaults": [{"hydra": "default"}, "_self_"], **saved}
        (Path(tmp) / "resume.yaml").write_text(yaml.safe_dump(primary, sort_keys=False))
        yield [
            "--config-path",
            tmp,
            "--config-name",
            "resume",
            f"hydra.searchpath=[file://{builtin}]",
            f"hydra.run.dir={plan.run_dir}",
            "hydra.output_subdir=null",
            f"++{KEY}={plan.run_dir}",
            *plan.overrides,
        ]


def record_resume(run_dir: Path, config: dict[str, Any], overrides: list[str]) -> None:
    """Append this resume to ``.hydra/resumes.yaml`` and write the config with its new epochs/devices."""
    from dltool.rundir import write_text

    history_path = run_dir / HISTORY
    history = yaml.safe_load(history_path.read_text()) if history_path.is_file() else []
    kept = [o for o in overrides if o.partition("=")[0].lstrip("+~") in ALLOWED]
    history.append({"resumed_at": datetime.now().isoformat(timespec="seconds"), "overrides": kept})
    write_text(history_path, yaml.safe_dump(history, sort_keys=False))
    write_text(run_dir / ".hydra" / "config.yaml", yaml.safe_dump({**config, KEY: None}, sort_keys=False))
