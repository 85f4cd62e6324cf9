"""The command line without training: help, speed of start-up, and bad input answered in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_dirs, run_dltool


def test_help_does_not_import_tensorflow_or_keras() -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom dltool.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\nassert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(app, ['train', '--help'])\nassert 'Examples' in r.output, r.output\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'hydra') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_arguments_prints_usage() -> None:
    result = subprocess.run([sys.executable, "-m", "dltool"], capture_output=True, text=True)
    assert "Usage" in result.stdout + result.stderr
    assert "train" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["model=resnt"], "did you mean resnet?"),
        (["optimizer.learnin_rate=0.1"], "did you mean learning_rate?"),
        (["trainer.epochs=-3"], "trainer.epochs=-3: must be >= 0"),
        (["trainer.batch_size=abc"], "trainer.batch_size=abc: expected an integer"),
        (["-m", "model=mlp,resnt"], "did you mean resnet?"),
        (["hidden_units=[8]"], "unknown key 'hidden_units' (did you mean model.hidden_units=[8]?)"),
        (["trainer.epochs=1", "activaton=tanh"], "unknown key 'activaton' (did you mean model.activation=tanh?)"),
        (["foo=1", "bar=2"], "unknown key 'foo'"),
        (["optimizer=sgd,adam"], "optimizer=sgd,adam: several values need -m (--multirun)"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], expected: str, tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_dltool("train", *args, cwd=tmp_path, timeout=60)
    assert time.monotonic() - started < 20  # answered before TensorFlow is imported
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "outputs").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run_dltool("train", "--debug", "model=resnt", cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_cfg_job_prints_the_config_and_runs_nothing(tmp_path: Path) -> None:
    result = run_dltool("train", "--cfg", "job", "model=cnn", "trainer.epochs=2", cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "epochs: 2" in result.stdout and "name: cnn" in result.stdout
    assert run_dirs(tmp_path) == []


def test_an_existing_run_directory_is_never_reused(tmp_path: Path) -> None:
    old = tmp_path / "old_run"
    old.mkdir()
    (old / "results.json").write_text('{"status": "completed"}')
    result = run_dltool("train", f"hydra.run.dir={old}", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "already holds a run" in result.stderr
    assert sorted(p.name for p in old.iterdir()) == ["results.json"]


def test_an_unforeseen_failure_is_one_line_unless_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import dltool.commands.evaluate
    from dltool.cli import app

    def broken(arguments: list[str], unsafe: bool = False) -> None:
        raise RuntimeError("the reader met something odd\nsecond line")

    monkeypatch.setattr(dltool.commands.evaluate, "evaluate", broken)
    result = CliRunner().invoke(app, ["evaluate", "somewhere"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: RuntimeError: the reader met something odd (--debug shows the traceback)"
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    result = CliRunner().invoke(app, ["evaluate", "--debug", "somewhere"])
    assert isinstance(result.exception, RuntimeError)
    assert "HYDRA_FULL_ERROR" not in os.environ  # --debug is the command's: the next one in this process is not
    result = CliRunner().invoke(app, ["evaluate", "somewhere"])
    assert result.exit_code == 1
