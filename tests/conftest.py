"""Shared helpers: run the installed ``dltool`` command in a scratch directory."""

from __future__ import annotations

import contextlib
import json
import logging
import logging.config
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

DLTOOL = [sys.executable, "-m", "dltool"]


def run_dltool(
    *args: str, cwd: Path, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``dltool ARGS`` in ``cwd`` with TensorFlow's start-up chatter silenced."""
    return subprocess.run([*DLTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=_env(env))


def start_dltool(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``dltool ARGS`` started in the background (to be signalled); stdout and stderr are piped."""
    return subprocess.Popen(
        [*DLTOOL, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(env)
    )


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "120", **(extra or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return full_env


def train_in_process(run_dir: Path, *overrides: str) -> dict:
    """``dltool train OVERRIDES`` in this process (no TensorFlow start-up per run), into ``run_dir``; results.json's
    content. The global mixed-precision policy a run may set is reset after it, for the tests that follow."""
    import keras

    from dltool.config import compose, validate
    from dltool.training.fit import train_run

    try:
        return train_run(validate(compose(list(overrides))), run_dir, show_progress=False)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def saved_run(run_dir: Path, overrides: list[str], config_dirs: list[str] | None = None) -> Path:
    """``run_dir`` trained in this process, with its ``.hydra/config.yaml`` written as ``dltool train`` writes it (for
    the commands that read a run directory: evaluate, predict, export)."""
    import keras
    from omegaconf import OmegaConf

    from dltool.config import compose, validate
    from dltool.training.fit import train_run

    cfg = compose(overrides, config_dirs=config_dirs) if config_dirs else compose(overrides)
    (run_dir / ".hydra").mkdir(parents=True)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    try:
        train_run(validate(cfg), run_dir, show_progress=False)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return run_dir


def dltool_in_process(
    *args: str, cwd: Path, env: dict[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``dltool ARGS`` run in this process (Typer's runner on ``dltool.cli.app``: no TensorFlow start-up), in ``cwd``:
    its exit code, stdout and stderr, as ``run_dltool`` returns them (120 columns wide). An exception the command
    line lets escape (what would be a traceback) is raised here. After it, the run's log files are closed and the
    global mixed-precision policy a run may set is reset."""
    import keras
    from typer.testing import CliRunner

    from dltool.cli import app
    from dltool.console import console

    previous, width = Path.cwd(), console.width
    os.chdir(cwd)
    console.width = 120
    try:
        with _file_handlers_closed_only():
            result = CliRunner().invoke(app, list(args), env={"HYDRA_FULL_ERROR": None, **(env or {})})
    finally:
        os.chdir(previous)
        console.width = width
        _close_log_files()
        keras.mixed_precision.set_global_policy("float32")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"dltool {' '.join(args)} raised\n{result.stdout}{result.stderr}") from result.exception
    return subprocess.CompletedProcess(["dltool", *args], result.exit_code, result.stdout, result.stderr)


@contextlib.contextmanager
def _file_handlers_closed_only():
    """Hydra configures each run's logging with dictConfig, which closes every live handler, pytest's own capture
    handlers included ("I/O operation on closed file" in the tests that follow): in-process runs close only the
    previous runs' train.log handlers."""
    original = logging.config._clearExistingHandlers  # type: ignore[attr-defined]
    logging.config._clearExistingHandlers = close_file_handlers  # type: ignore[attr-defined]
    try:
        yield
    finally:
        logging.config._clearExistingHandlers = original  # type: ignore[attr-defined]


def _close_log_files() -> None:
    """Close and detach the log files (train.log) a run's logging opened: nothing stays open in its directory."""
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in list(getattr(logger, "handlers", [])):
            if isinstance(handler, logging.FileHandler):
                logger.removeHandler(handler)
                handler.close()


def close_file_handlers() -> None:
    logging._handlers.clear()  # type: ignore[attr-defined]
    for ref in list(logging._handlerList):  # type: ignore[attr-defined]
        handler = ref()
        if isinstance(handler, logging.FileHandler):
            handler.close()


def stand_in_checkpoint(path: Path) -> Path:
    """A ``.keras`` file that is a readable archive (it passes the command line's checks) but holds no model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
    return path


def run_dirs(root: Path) -> list[Path]:
    """Run directories (those holding .hydra/) under ``root/outputs``, oldest first."""
    return sorted(p.parent for p in (root / "outputs").rglob(".hydra"))


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the tests for ``--dist loadgroup`` (pyproject's addopts), so that both xdist workers stay busy.

    xdist hands out the groups first (a file whose module fixture trains a run once for several tests marks
    itself ``xdist_group``), then the single tests in this order: end-to-end runs and slow sections first,
    so that short unit tests fill the end rather than one long run.
    """
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None and item.get_closest_marker("slow") is None)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """End every test run with the cookbook's coverage: rows covered, and those not (yet)."""
    from tests.test_cookbook import SECTIONS, coverage_line

    terminalreporter.write_line(coverage_line(SECTIONS))


def checked(cfg):
    """``validate(cfg)`` and the imports of what its ``_target_`` keys name: the checks ``dltool train`` makes."""
    from dltool.config import validate
    from dltool.training.backend import check_run_imports

    run = validate(cfg)
    check_run_imports(cfg, run)
    return run
