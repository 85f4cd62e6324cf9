"""``dltool train``'s Hydra entry point: Hydra composes the config and owns the run directory,
``.hydra/`` and ``train.log``; this validates, trains, and maps failures to exit codes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dltool.config import builtin_config_dir, register_resolvers, validate
from dltool.errors import ConfigError, DltoolError, Interrupted
from dltool.rundir import check_creatable
from dltool.training.tracking import start_tracking, stop_tracking

log = logging.getLogger("dltool")
_exit_codes: list[int] = []
_jobs: list[tuple[Path, list[str]]] = []  # each job's run directory and overrides, for a multirun's closing table


def _task(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from dltool.console import print_config_tree, print_results

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    _jobs.append((run_dir, list(HydraConfig.get().overrides.task)))
    resuming = cfg.get("resume") is not None
    try:
        run = validate(cfg)
        if resuming:
            from dltool.resume import record_resume

            record_resume(run_dir, OmegaConf.to_container(cfg), list(HydraConfig.get().overrides.task))
        print_config_tree(OmegaConf.to_container(cfg, resolve=True), title=f"config → {run_dir}")
        what = "resuming" if resuming else "run directory"
        log.info("%s %s\n%s", what, run_dir, OmegaConf.to_yaml(cfg, resolve=True))
        from dltool.training.fit import train_run

        start_tracking(run, run_dir, OmegaConf.to_container(cfg, resolve=True))
        results = train_run(run, run_dir)
        stop_tracking(results, "FINISHED")
        log.info("results: %s", {k: v for k, v in results.items() if k.startswith(("status", "test_", "best_"))})
        print_results(results)
        _exit_codes.append(0)
    except DltoolError as err:
        stop_tracking(None, "KILLED" if isinstance(err, Interrupted) else "FAILED")
        log.error("%s", err)
        if isinstance(err, ConfigError) and not resuming:
            _discard_run_dir(run_dir)  # bad input found late (data, shapes, devices): leave nothing behind
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        _say("interrupted" if isinstance(err, Interrupted) else "error", str(err))
        _exit_codes.append(err.exit_code)
    except KeyboardInterrupt:  # a second Ctrl-C, or one before training started
        stop_tracking(None, "KILLED")
        _record_failure(run_dir, "interrupted", "interrupted before the end of an epoch")
        _say("interrupted", f"resume with: dltool train resume={run_dir}")
        _exit_codes.append(Interrupted.exit_code)
    except Exception as err:
        stop_tracking(None, "FAILED")
        log.exception("run failed")
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        _record_failure(run_dir, "failed", f"{type(err).__name__}: {err}")
        _say("error", failure_message(err, run_dir))
        _exit_codes.append(1)


def failure_message(err: Exception, run_dir: Path) -> str:
    """The line printed for an unexpected failure; a full disk says what to do.

    >>> failure_message(OSError(28, "No space left on device", "run/last.keras"), Path("run"))[:60]
    'disk full (no space left on device) while writing run/last.k'
    """
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return (
            f"disk full (no space left on device) while writing {err.filename or 'into ' + str(run_dir)}; "
            f"the last complete checkpoints are intact: free space, then resume with: dltool train resume={run_dir}"
        )
    return f"{type(err).__name__}: {err} (full traceback in {run_dir / 'train.log'}; --debug shows it here)"


def _say(label: str, message: str) -> None:
    """One line on stderr, as the command line prints errors found before the run."""
    import typer

    typer.secho(f"{label}: {message}", fg=typer.colors.YELLOW if label == "interrupted" else typer.colors.RED, err=True)


def _record_failure(run_dir: Path, status: str, error: str) -> None:
    """Write results.json ``{status, error}``; if even that fails (a full disk), the log and the terminal say it."""
    from dltool.training.artifacts import write_json

    try:
        write_json(run_dir / "results.json", {"status": status, "error": error})
    except OSError as err:
        log.error("could not write results.json: %s", err)


def _discard_run_dir(run_dir: Path) -> None:
    """Remove a new run directory that bad input made useless (it holds no result, only Hydra's files)."""
    if not (run_dir / "results.json").exists():
        shutil.rmtree(run_dir, ignore_errors=True)
        with contextlib.suppress(OSError):  # the day's folder too, if this run was its only one
            run_dir.parent.rmdir()


def refuse_existing_run_dir(overrides: list[str]) -> None:
    """An explicit ``hydra.run.dir`` must not hold another run: Hydra would overwrite its files."""
    for override in overrides:
        key, _, value = override.lstrip("+").partition("=")
        if key == "hydra.run.dir" and (Path(value) / "results.json").exists():
            raise ConfigError(f"hydra.run.dir={value}: already holds a run (results.json); choose a new directory")


def check_output_dir(overrides: list[str]) -> None:
    """The run directory (``hydra.run.dir``, else ``outputs/``) must be creatable: a clear line before anything runs."""
    explicit = [o.lstrip("+").partition("=")[2] for o in overrides if o.lstrip("+").startswith("hydra.run.dir=")]
    key, target = ("hydra.run.dir", explicit[-1]) if explicit else ("output directory", "outputs")
    check_creatable(target, key, "choose another directory (hydra.run.dir=...)")


def run_hydra(argv: list[str], config_name: str = "config") -> int:
    """Run Hydra's ``@hydra.main`` on ``argv`` (every Hydra flag works); return the exit code."""
    import hydra

    register_resolvers()
    _exit_codes.clear()
    _jobs.clear()
    entry = hydra.main(config_path=str(builtin_config_dir()), config_name=config_name, version_base="1.3")(_task)
    saved = sys.argv
    sys.argv = ["dltool train", *argv]
    try:
        entry()
    finally:
        sys.argv = saved
    if len(_jobs) > 1:
        from dltool.evaluation.runs import print_multirun

        print_multirun(_jobs)
    return max(_exit_codes, default=0)
