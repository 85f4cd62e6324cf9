"""``dltool train``: compose and check the config once, run it as a Hydra job, map failures to exit codes.

A single run (and a resume) is composed and validated once, then run by Hydra's job runner, which
owns the run directory, ``.hydra/`` and ``train.log``. A multirun (``-m``) is checked value by value,
then handed to Hydra's ``@hydra.main`` (its sweepers and launchers compose each job); ``--cfg``,
``--help`` and ``--info`` are answered by Hydra.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from dltool.config import HydraArgs, RunConfig, builtin_config_dir, compose, expand_sweeps, register_resolvers, validate
from dltool.config.compose import GROUPS, sweep_values
from dltool.errors import ConfigError, DltoolError, Interrupted, JobFailed
from dltool.rundir import check_creatable, read_results
from dltool.training.tracking import start_tracking, stop_tracking

log = logging.getLogger("dltool")
_exit_codes: list[int] = []  # a multirun's, set by MultirunSummary (its jobs may run in other processes)
_verbose = False  # the whole config tree at the start of a run, instead of the one-line summary


def train_command(argv: list[str], verbose: bool = False) -> int:
    """``dltool train ARGV`` (Hydra's flags and overrides): check the config (one line and exit 2 if wrong), run it.

    Returns the exit code: 0 done, 1 failed, 2 bad input, 130 interrupted (a multirun: its worst job's).
    """
    from dltool.commands.resume import check_resumable, resume_config, split_resume
    from dltool.training.multi_worker import worker_run_dir

    args = HydraArgs.parse(argv)
    if args.informational:
        return run_hydra(args.argv, args.config_name, verbose)
    resume, overrides = split_resume(args.overrides)
    if resume is not None:
        plan, cfg = resume_config(resume, overrides, args.multirun)
        run = check_run(cfg)
        check_resumable(resume, plan, run)
        return run_composed(cfg, run, verbose)
    check_run_dir(args.overrides)
    jobs = expand_sweeps(args.overrides, args.multirun)  # without -m, a swept value is one line here
    where = (args.config_name, args.config_dirs, args.config_path)
    if args.multirun:
        strategies = [check_run(compose(job, *where)).trainer.strategy for job in jobs]
        with worker_run_dir(strategies) as scratch:
            return run_hydra(args.argv + ([f"hydra.run.dir={scratch}"] if scratch else []), args.config_name, verbose)
    cfg = compose(args.overrides, *where, with_hydra=True)
    run = check_run(cfg)
    with worker_run_dir([run.trainer.strategy]) as scratch:
        if scratch:
            cfg.hydra.run.dir = scratch
        return run_composed(cfg, run, verbose)


def check_run(cfg: DictConfig) -> RunConfig:
    """The validated run of a composed config, what its ``_target_`` keys name imported (on its backend), its data
    and model inputs checked (one line if wrong)."""
    from dltool.data import check_data, check_model_inputs
    from dltool.training.backend import check_run_imports

    run = validate(cfg)
    check_run_imports(cfg, run)
    check_data(run.data)
    check_model_inputs(run.model, run.data)
    return run


def run_composed(cfg: DictConfig, run: RunConfig, verbose: bool = False) -> int:
    """Run a composed (``with_hydra``) and validated config as ``@hydra.main`` runs a job; return the exit code."""
    from hydra._internal.callbacks import Callbacks
    from hydra.core.utils import run_job
    from hydra.types import HydraContext, RunMode

    _start(verbose)
    cfg.hydra.mode = RunMode.RUN
    job = run_job(
        task_function=functools.partial(_task, run=run),
        config=cfg,
        job_dir_key="hydra.run.dir",
        job_subdir_key=None,
        hydra_context=HydraContext(config_loader=None, callbacks=Callbacks(cfg)),
    )
    return job.return_value  # re-raises what the task raised (HYDRA_FULL_ERROR=1 or --debug)


def _task(cfg: DictConfig, run: RunConfig | None = None) -> int:
    """One job and its exit code: ``run`` is the validated ``cfg`` (validated here when Hydra composed it)."""
    from hydra.core.hydra_config import HydraConfig

    from dltool.console import print_config_summary, print_config_tree, print_results

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    resuming = cfg.get("resume") is not None
    try:
        run = run or validate(cfg)
        if resuming:
            from dltool.commands.resume import record_resume

            record_resume(run_dir, OmegaConf.to_container(cfg), list(hydra_cfg.overrides.task))
        if _verbose:
            print_config_tree(OmegaConf.to_container(cfg, resolve=True), title=f"config → {run_dir}")
        else:
            choices = {g: hydra_cfg.runtime.choices.get(g) for g in GROUPS if g in hydra_cfg.runtime.choices}
            print_config_summary(choices, list(hydra_cfg.overrides.task), str(run_dir))
        what = "resuming" if resuming else "run directory"
        log.info("%s %s\n%s", what, run_dir, OmegaConf.to_yaml(cfg, resolve=True))
        from dltool.training.fit import train_run

        start_tracking(run, run_dir, OmegaConf.to_container(cfg, resolve=True))
        results = train_run(run, run_dir)
        stop_tracking(results, "FINISHED")
        log.info("results: %s", {k: v for k, v in results.items() if k.startswith(("status", "test_", "best_"))})
        print_results(results)
        return 0
    except DltoolError as err:
        stop_tracking(None, "KILLED" if isinstance(err, Interrupted) else "FAILED")
        log.error("%s", err)
        if isinstance(err, ConfigError) and not resuming:
            _discard_run_dir(run_dir)  # bad input found late (data, shapes, devices): leave nothing behind
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        _say("interrupted" if isinstance(err, Interrupted) else "error", str(err))
        return err.exit_code
    except KeyboardInterrupt:  # a second Ctrl-C, or one before training started
        stop_tracking(None, "KILLED")
        _record_failure(run_dir, "interrupted", "interrupted before the end of an epoch")
        _say("interrupted", f"resume with: dltool train resume={run_dir}")
        return Interrupted.exit_code
    except Exception as err:
        stop_tracking(None, "FAILED")
        log.exception("run failed")
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        _record_failure(run_dir, "failed", f"{type(err).__name__}: {err}")
        _say("error", failure_message(err, run_dir))
        return 1


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
    from dltool.rundir import write_json

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


# what a run leaves in its directory from its first moments on (Hydra writes .hydra/ before training)
RUN_FILES = ("results.json", ".hydra/config.yaml", "metrics.csv", "checkpoints/backup/state.json")


def check_run_dir(overrides: list[str]) -> None:
    """The run directory (``hydra.run.dir``, else ``outputs/``) must be creatable: a clear line before anything
    runs. An explicit one must not hold another run: Hydra would overwrite its config and training would append
    a second history to its metrics.csv. One that did not finish can be resumed."""
    explicit = [o.lstrip("+").partition("=")[2] for o in overrides if o.lstrip("+").startswith("hydra.run.dir=")]
    for value in explicit:
        if not any((Path(value) / name).exists() for name in RUN_FILES):
            continue
        if read_results(Path(value)).get("status") == "completed":
            raise ConfigError(f"hydra.run.dir={value}: already holds a run (results.json); choose a new directory")
        raise ConfigError(
            f"hydra.run.dir={value}: already holds a run that did not finish; "
            f"continue it with: dltool train resume={value}, or choose a new directory"
        )
    key, target = ("hydra.run.dir", explicit[-1]) if explicit else ("output directory", "outputs")
    check_creatable(target, key, "choose another directory (hydra.run.dir=...)")


def _start(verbose: bool) -> None:
    global _verbose
    _verbose = verbose
    register_resolvers()
    _exit_codes.clear()
    # a train.log write that fails (a full disk) must not print a traceback per log record: the run ends
    # with one line saying the disk is full
    logging.raiseExceptions = False


def run_hydra(argv: list[str], config_name: str = "config", verbose: bool = False) -> int:
    """Run Hydra's ``@hydra.main`` on ``argv`` (every Hydra flag works); return the exit code."""
    import hydra

    from dltool.config.compose import files_over_stored
    from dltool.config.registry import register_all

    _start(verbose)
    register_all()
    entry = hydra.main(config_path=str(builtin_config_dir()), config_name=config_name, version_base="1.3")(_task)
    saved = sys.argv
    sys.argv = ["dltool train", *argv]
    try:
        with files_over_stored():
            entry()
    finally:
        sys.argv = saved
    return max(_exit_codes, default=0)


class MultirunSummary(Callback):
    """Hydra callback (``hydra.callbacks`` in ``conf/hydra/default.yaml``): at the end of a multirun, the table of
    its jobs, best first, and the exit code, the worst of its jobs'. Both are read from the jobs' run directories,
    so they hold whatever launcher ran the jobs (with joblib, submitit or ray, in other processes)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from dltool.commands.runs import print_multirun

        jobs = multirun_jobs(Path(str(config.hydra.sweep.dir)), list(config.hydra.overrides.task))
        _exit_codes.append(max((job_exit_code(path) for path, _ in jobs), default=0))
        if len(jobs) > 1:
            print_multirun(jobs)


def multirun_jobs(sweep_dir: Path, task_overrides: list[str]) -> list[tuple[Path, list[str]]]:
    """Every job of a multirun, in launch order: its run directory (a job's ``.hydra/overrides.yaml`` names it;
    a job whose bad input removed its directory keeps the launcher's ``<sweep dir>/<job number>``) and overrides.

    >>> [o for _, o in multirun_jobs(Path("nowhere"), ["model=mlp,cnn", "trainer.epochs=1"])]
    [['model=mlp', 'trainer.epochs=1'], ['model=cnn', 'trainer.epochs=1']]
    """
    found = {
        frozenset(OmegaConf.load(saved)): saved.parent.parent for saved in sweep_dir.glob("*/.hydra/overrides.yaml")
    }
    return [
        (found.get(frozenset(job), sweep_dir / str(number)), list(job))
        for number, job in enumerate(itertools.product(*sweep_values(task_overrides)))
    ]


def job_exit_code(run_dir: Path) -> int:
    """A job's exit code from what it left: 0 completed, 130 interrupted, 1 failed, 2 bad input (no directory)."""
    if not run_dir.is_dir():
        return ConfigError.exit_code
    return {"completed": 0, "interrupted": Interrupted.exit_code}.get(
        read_results(run_dir).get("status"), JobFailed.exit_code
    )
