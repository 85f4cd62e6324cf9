"""What a person sees without a terminal (CI, a redirect, a batch job): dltool's own lines only, one line per
epoch, short keys written out, and errors that need no model answered before TensorFlow is imported."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf

from dltool.config import compose
from tests.conftest import dltool_in_process, run_dirs, run_dltool, stand_in_checkpoint

pytestmark = pytest.mark.e2e

QUIET = {"TF_CPP_MIN_LOG_LEVEL": "0"}  # what a user's shell has: dltool itself must keep the libraries quiet


def test_a_run_in_a_pipe_prints_one_line_per_epoch_and_no_library_line(tmp_path: Path) -> None:
    result = run_dltool("train", "epochs=3", "batch=32", "callbacks.tensorboard.enabled=false", cwd=tmp_path, env=QUIET)
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_dirs(tmp_path)
    saved = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    assert (saved["trainer"]["epochs"], saved["trainer"]["batch_size"]) == (3, 32)
    assert result.stderr.strip() == "short keys: epochs=3 → trainer.epochs=3, batch=32 → trainer.batch_size=32"
    lines = result.stdout.splitlines()
    overrides = "trainer.epochs=3 trainer.batch_size=32 callbacks.tensorboard.enabled=false"
    assert lines[0] == f"config: data=digits model=mlp optimizer=adam {overrides} → {run_dir}"
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1/3", "2/3", "3/3"]
    assert all(re.search(r"\d+\.\ds  accuracy \S+  loss \S+  val_accuracy \S+  val_loss \S+$", line) for line in epochs)
    assert "run completed" in result.stdout and "├──" not in result.stdout  # the summary, not the tree


def test_verbose_prints_the_whole_config_tree(tmp_path: Path) -> None:
    result = dltool_in_process("train", "--verbose", "trainer.epochs=1", "data.max_samples=100", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "├── trainer" in result.stdout and "│   ├── epochs: 1" in result.stdout


def _run(tmp: Path, name: str, intact: bool) -> Path:
    """A run directory with the default config and a stand-in checkpoint, or one cut short."""
    run_dir = tmp / name
    (run_dir / ".hydra").mkdir(parents=True)
    OmegaConf.save(compose([]), run_dir / ".hydra" / "config.yaml")  # the default run's config
    checkpoint = stand_in_checkpoint(run_dir / "checkpoints" / "best.keras")
    if not intact:
        checkpoint.write_bytes(checkpoint.read_bytes()[:20])
    return run_dir


def _folder_with_a_non_image(tmp: Path) -> Path:
    for label in ("a", "b"):
        (tmp / "images" / label).mkdir(parents=True)
        np.save(tmp / "images" / label / "x.npy", np.zeros(3))  # renamed below: an image suffix, other bytes
        (tmp / "images" / label / "x.npy").rename(tmp / "images" / label / "x.png")
    return tmp / "images"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["predict", "{run}", "missing.npy"], "missing.npy: no such file or folder"),
        (["evaluate", "{corrupt_run}"], "best.keras: corrupt"),
        (["train", "model=cnn", "data=function"], "model=cnn needs image inputs"),
        (
            ["train", "data=image_folder", "data.root={images}", "data.on_bad_file=error"],
            "2 unreadable image files in data.root=",
        ),
    ],
)
def test_errors_that_need_no_model_come_before_tensorflow(args: list[str], expected: str, tmp_path: Path) -> None:
    paths = {
        "run": _run(tmp_path, "run", intact=True),
        "corrupt_run": _run(tmp_path, "corrupt_run", intact=False),
        "images": _folder_with_a_non_image(tmp_path),
    }
    started = time.monotonic()
    result = run_dltool(*(a.format(**paths) for a in args), "--debug", cwd=tmp_path, timeout=60)
    seconds = time.monotonic() - started
    assert result.returncode != 0 and expected in result.stderr, result.stderr
    assert "tensorflow" not in result.stderr.lower()  # the traceback (--debug) shows no TensorFlow frame
    assert seconds < 20, seconds


def test_data_decisions_are_announced_once_and_kept_in_results(tmp_path: Path) -> None:
    from tests.test_data_files import write_csv

    path = write_csv(tmp_path / "t.csv")
    result = dltool_in_process("train", "data=csv", f"data.path={path}", "data.target=y", "epochs=1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    announced = [line for line in result.stdout.splitlines() if line.startswith("data: column")]
    (run_dir,) = run_dirs(tmp_path)
    decisions = json.loads((run_dir / "results.json").read_text())["data"]["decisions"]
    assert announced == [f"data: {d}" for d in decisions] and len(decisions) == 3
    assert decisions[0].startswith("columns 'a', 'b': standardized, and piecewise-linear over 16 quantile bins")
    assert (run_dir / "train.log").read_text().count("one-hot encoded over 2 categories") == 1


def test_a_multirun_in_other_processes_keeps_the_failed_jobs_exit_code(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    result = dltool_in_process(
        "train", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "optimizer.learning_rate=0.001,1e30",
        "trainer.epochs=1", "data.max_samples=100", "callbacks.tensorboard.enabled=false", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    table = result.stdout[result.stdout.index("2 runs of the multirun, best first") :]
    rows = [line for line in table.splitlines() if line.startswith("│ outputs/multirun/")]
    assert [row.split("│")[2].strip() for row in rows] == ["0.001", "1e+30"]
    assert [row.split("│")[-2].strip() for row in rows] == ["completed", "failed"]
