"""Shared helpers: run the installed ``dltool`` command in a scratch directory."""

from __future__ import annotations

import json
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
