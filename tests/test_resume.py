"""Reliability: SIGKILL during checkpoint writes, Ctrl-C, extending a finished run, a full disk.

Every subprocess has a hard timeout; the data is tiny (300 digits, a 16-unit MLP) so a run is seconds. Runs that
are killed or signalled are processes of their own; the others (the reference, resumes, a refused start) run
in the test's process.
"""

from __future__ import annotations

import csv
import errno
import json
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import dltool_in_process, results, run_dirs, start_dltool

# xdist_group: the module fixture trains once, on one worker
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_resume")]
EPOCHS = 6
TINY = [
    "data.max_samples=300",
    "model.hidden_units=[16]",
    "trainer.batch_size=16",
    "trainer.deterministic=true",
    "callbacks.tensorboard.enabled=false",
]
TIMEOUT = 180
COMPARED = ("accuracy", "loss", "val_accuracy", "val_loss", "lr")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of EPOCHS epochs."""
    root = tmp_path_factory.mktemp("reference")
    result = dltool_in_process("train", f"trainer.epochs={EPOCHS}", *TINY, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    (run_dir,) = run_dirs(root)
    return run_dir


def metrics(run_dir: Path) -> list[dict[str, str]]:
    try:
        with open(run_dir / "metrics.csv") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        return []


def backed_up_epochs(run_dir: Path) -> int:
    state = run_dir / "checkpoints" / "backup" / "state.json"
    return json.loads(state.read_text())["epoch"] if state.exists() else 0


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen, timeout: float) -> bool:
    """Poll ``condition`` every millisecond until it holds (True), or the process ends or time runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            return True
        time.sleep(0.001)
    return False


def assert_checkpoints_load(run_dir: Path) -> None:
    import keras

    for path in (run_dir / "checkpoints").glob("*.keras"):
        if not path.name.startswith("."):  # hidden .<name>.tmp.keras files are writes in progress, never read
            keras.saving.load_model(path, safe_mode=True)


def assert_same_training(run_dir: Path, reference: Path, epochs: int) -> None:
    rows, expected = metrics(run_dir), metrics(reference)
    assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1)), "each epoch exactly once"
    for got, want in zip(rows, expected, strict=False):
        for key in COMPARED:
            assert float(got[key]) == pytest.approx(float(want[key]), rel=1e-5, abs=1e-7), (got["epoch"], key)


def test_sigkill_during_checkpoint_writes_then_resume_equals_the_uninterrupted_run(
    reference: Path, tmp_path: Path
) -> None:
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    run_dir = tmp_path / "run"
    writing = [run_dir / "checkpoints" / f".{name}.tmp.keras" for name in ("best", "last")]
    killed_mid_write = 0
    for attempt in range(3):
        # kill while epoch `target` (1-2 epochs past the last backup) writes a checkpoint
        target = backed_up_epochs(run_dir) + rng.randint(1, 2)
        fresh = [f"trainer.epochs={EPOCHS}", *TINY, f"hydra.run.dir={run_dir}"]
        proc = start_dltool("train", *([f"resume={run_dir}"] if attempt else fresh), cwd=tmp_path)

        def writing_epoch(target: int = target) -> bool:
            return any(p.exists() for p in writing) and len(metrics(run_dir)) >= target

        try:
            hit = wait_until(writing_epoch, proc, 120)
        finally:
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate(timeout=30)
        assert hit, f"seed {seed}, attempt {attempt}: no checkpoint write seen at epoch {target}\n{out}\n{err}"
        killed_mid_write += any(p.exists() for p in writing)
        assert_checkpoints_load(run_dir)
    assert killed_mid_write >= 1, f"seed {seed}: every kill landed after the write had finished"

    result = dltool_in_process("train", f"resume={run_dir}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert_same_training(run_dir, reference, EPOCHS)
    got, want = results(run_dir), results(reference)
    assert got["status"] == "completed" and got["epochs_run"] == EPOCHS
    for key in ("test_accuracy", "test_loss", "best_val_loss", "best_epoch"):
        assert got[key] == pytest.approx(want[key], rel=1e-5), key


def test_a_second_start_into_a_killed_run_is_refused_with_the_resume_command(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    command = ["train", f"trainer.epochs={EPOCHS * 5}", *TINY, f"hydra.run.dir={run_dir}"]
    proc = start_dltool(*command, cwd=tmp_path)
    try:
        assert wait_until(lambda: backed_up_epochs(run_dir) >= 2, proc, 120)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    history = (run_dir / "metrics.csv").read_text()

    again = dltool_in_process(*command, cwd=tmp_path)
    assert again.returncode == 2, again.stdout + again.stderr
    (line,) = again.stderr.strip().splitlines()
    assert str(run_dir) in line and f"dltool train resume={run_dir}" in line
    assert (run_dir / "metrics.csv").read_text() == history  # no second history appended


def test_ctrl_c_saves_state_writes_interrupted_and_exits_130(tmp_path: Path) -> None:
    proc = start_dltool("train", f"trainer.epochs={EPOCHS * 5}", *TINY, cwd=tmp_path)
    try:
        assert wait_until(lambda: backed_up_epochs(next(iter(run_dirs(tmp_path)), tmp_path)) >= 1, proc, 120)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    (run_dir,) = run_dirs(tmp_path)
    assert f"resume with: dltool train resume={run_dir}" in err
    res = results(run_dir)
    assert res["status"] == "interrupted" and res["epochs_run"] == backed_up_epochs(run_dir) >= 1
    assert len(metrics(run_dir)) == res["epochs_run"]  # the interrupted epoch left no row
    assert_checkpoints_load(run_dir)


def test_resume_latest_with_more_epochs_extends_a_finished_run_in_place(reference: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "outputs" / "2026-01-01" / "10-00-00"
    shutil.copytree(reference, run_dir)
    overrides = (run_dir / ".hydra" / "overrides.yaml").read_text()
    extend = [f"trainer.epochs={EPOCHS + 2}", "allowed_targets=[keras.]"]  # a safety setting may be added
    result = dltool_in_process("train", "resume=latest", *extend, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"resuming {run_dir.resolve()} (latest" in result.stdout
    assert run_dirs(tmp_path) == [run_dir]  # in place: no new run directory
    assert_same_training(run_dir, reference, EPOCHS + 2)
    res = results(run_dir)
    assert res["status"] == "completed" and res["epochs_run"] == EPOCHS + 2 and res["resumed_from_epoch"] == EPOCHS
    assert (run_dir / ".hydra" / "overrides.yaml").read_text() == overrides
    assert yaml.safe_load((run_dir / ".hydra" / "resumes.yaml").read_text())[-1]["overrides"] == extend
    assert f"epochs: {EPOCHS + 2}" in (run_dir / ".hydra" / "config.yaml").read_text()


def test_a_full_disk_fails_clearly_and_keeps_the_last_good_checkpoint(tmp_path: Path, monkeypatch) -> None:
    from dltool import rundir
    from dltool.commands.train import failure_message
    from dltool.config import compose, validate
    from dltool.training.fit import train_run

    checkpoints = []

    def full_from_epoch_2(name: str) -> None:  # reached when a file's temporary copy is complete
        checkpoints.extend([name] if name.endswith(".keras") else [])
        if len(checkpoints) > 2:  # epoch 1 wrote best and last; epoch 2 meets a full disk
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rundir, "fault_point", full_from_epoch_2)
    run = validate(compose(["trainer.epochs=3", *TINY]))
    with pytest.raises(OSError) as err:
        train_run(run, tmp_path, show_progress=False)
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(tmp_path / "checkpoints" / checkpoints[-1])
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["backup", "best.keras", "last.keras"]
    assert_checkpoints_load(tmp_path)  # epoch 1's, untouched; the temporary file was removed
    assert backed_up_epochs(tmp_path) == 1
    message = failure_message(err.value, tmp_path)
    assert message.startswith("disk full") and f"dltool train resume={tmp_path}" in message


def test_an_epoch_stopped_by_a_guard_is_neither_checkpointed_nor_logged(tmp_path: Path) -> None:
    import keras
    import numpy as np

    from dltool.training.checkpoints import Checkpoint, MetricsCSV
    from dltool.training.guards import RunStop

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    stop = RunStop()
    checkpoint = Checkpoint(tmp_path, "loss", "auto", save_best=True, save_last=True, stop=stop)
    csv_log = MetricsCSV(tmp_path / "metrics.csv", stop)
    checkpoint.set_model(model)
    good = [w.copy() for w in model.get_weights()]
    for callback in (csv_log, checkpoint):
        callback.on_epoch_end(0, {"loss": 1.0})
    model.set_weights([np.full_like(w, np.nan) for w in good])  # the loss went non-finite during epoch 2
    stop.reason, stop.incomplete_epoch = "non-finite loss nan", 1
    for callback in (csv_log, checkpoint):
        callback.on_epoch_end(1, {"loss": float("nan")})
    for name in ("last.keras", "best.keras"):
        saved = keras.saving.load_model(tmp_path / name, safe_mode=True).get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(saved, good, strict=True)), name
    assert len(metrics(tmp_path)) == 1 and checkpoint.best_epoch == 1
