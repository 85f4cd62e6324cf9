"""Fault injection: ``dltool train`` killed (SIGKILL, through ``DLTOOL_FAULT``) at every kind of moment, then
resumed, ends bitwise equal to an uninterrupted run; a full disk fails in one line, never in a crash.

The runs are tiny (200 digits, a 16-unit MLP with dropout, 3 epochs). The killed runs go in subprocesses,
two at a time in the background, each in its own directory; their resumes and the uninterrupted runs they are
compared with train in the test's process (no TensorFlow start-up each).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import dltool_in_process, results, run_dltool

# xdist_group: the module fixture trains once, on one worker
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_faults")]
EPOCHS = 3
BATCH = 32
TINY = [
    f"trainer.epochs={EPOCHS}",
    "data.max_samples=200",
    "model.hidden_units=[16]",
    "regularization.dropout=0.2",  # a random state to restore as well
    f"trainer.batch_size={BATCH}",
    "trainer.deterministic=true",
    "callbacks.tensorboard.enabled=false",
]
TIMEOUT = 180
TIMING_COLUMNS = ("epoch_time_s",)
# what differs between any two runs, or says that a run was resumed
UNCOMPARED_RESULTS = ("run_dir", "train_time_s", "samples_per_s", "started_at", "finished_at", "resumed_from_epoch")
EARLY_STOP = ("callbacks.early_stopping.patience=1", "callbacks.early_stopping.min_delta=1")  # ends after epoch 2
# test id -> (DLTOOL_FAULT, overrides added to TINY, where the kill lands: (metrics.csv rows, epoch of the backup)).
# A file's name is the moment its new content is complete but not yet renamed over it. 200 examples in batches
# of 32: 7 steps an epoch.
CASES: dict[str, tuple[str, tuple[str, ...], tuple[int, int]]] = {
    "start": ("start", (), (0, 0)),  # start-up: model built, before the first epoch
    "mid-epoch": ("step:10", (), (1, 1)),  # during epoch 2
    "best.keras": ("best.keras", (), (1, 0)),  # epoch 1's best checkpoint
    "last.keras": ("last.keras:2", (), (2, 1)),
    "backup-weights": ("epoch-2.weights.h5", (), (2, 1)),  # the random states' .npz is written the same way
    "backup-state": ("state.json:2", (), (2, 1)),  # the commit: epoch 2's files written, state.json names epoch 1
    "after-last-backup": ("evaluate", (), (EPOCHS, EPOCHS)),  # before the test evaluation, plots, results.json
    "after-early-stop": ("evaluate", EARLY_STOP, (2, 2)),  # early stopping ended the run: no epoch 3 on resume
}


@dataclass
class Pair:
    """A run killed at a fault point, what it left, and its resume."""

    run_dir: Path
    killed: subprocess.CompletedProcess[str]
    left: tuple[int, int]  # (metrics.csv rows, epoch of the backup) when killed
    resumed: subprocess.CompletedProcess[str]


def killed_run(root: Path, fault: str, overrides: tuple[str, ...]) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``dltool train`` killed at ``fault`` in ``root/run`` (a process of its own, killed by SIGKILL)."""
    run_dir = root / "run"
    root.mkdir()
    killed = run_dltool(
        "train", *TINY, *overrides, f"hydra.run.dir={run_dir}", cwd=root, timeout=TIMEOUT, env={"DLTOOL_FAULT": fault}
    )
    return killed, run_dir


def resume(killed: subprocess.CompletedProcess[str], run_dir: Path) -> Pair:
    """What the killed run left, and ``dltool train resume=run_dir`` (in this process: the resume needs no
    process of its own; it ends equal to a run that was never killed)."""
    state = run_dir / "checkpoints" / "backup" / "state.json"
    rows = len(metric_rows(run_dir)) if (run_dir / "metrics.csv").exists() else 0
    left = (rows, json.loads(state.read_text())["epoch"] if state.exists() else 0)
    resumed = dltool_in_process("train", f"resume={run_dir}", cwd=run_dir.parent)
    return Pair(run_dir, killed, left, resumed)


def kill_and_resume(root: Path, fault: str, overrides: tuple[str, ...]) -> Pair:
    """``dltool train`` killed at ``fault`` in ``root/run``, then ``dltool train resume=root/run``."""
    return resume(*killed_run(root, fault, overrides))


def uninterrupted(root: Path, overrides: tuple[str, ...]) -> Path:
    root.mkdir()
    result = dltool_in_process("train", *TINY, *overrides, f"hydra.run.dir={root / 'run'}", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "run"


class Runs:
    """The killed runs of the selected cases, started at once in the background (two processes at a time);
    ``pair(case)``, a case's killed run and its resume, and ``reference(overrides)``, the uninterrupted run
    of those overrides, are made here (in this process) when first asked for."""

    def __init__(self, root: Path, pool: ThreadPoolExecutor, cases: list[str]) -> None:
        self.root = root
        self.killed = {c: pool.submit(killed_run, root / c, *CASES[c][:2]) for c in cases}
        self.pairs: dict[str, Pair] = {}
        self.references: dict[tuple[str, ...], Path] = {}

    def pair(self, case: str) -> Pair:
        if case not in self.pairs:
            self.pairs[case] = resume(*self.killed[case].result())
        return self.pairs[case]

    def reference(self, overrides: tuple[str, ...]) -> Path:
        if overrides not in self.references:
            self.references[overrides] = uninterrupted(self.root / f"reference-{len(self.references)}", overrides)
        return self.references[overrides]


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("faults")
    chosen = [c for c in CASES if any(f"[{c}]" in item.name for item in request.session.items)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield Runs(root, pool, chosen)


def metric_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv") as f:
        return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in csv.DictReader(f)]


def checkpoint_arrays(path: Path) -> dict[str, bytes]:
    """Every array of a ``.keras`` file (weights and optimizer state), as raw bytes, by its HDF5 path."""
    import h5py

    arrays: dict[str, bytes] = {}
    with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as h5:
        h5.visititems(
            lambda name, obj: arrays.update({name: obj[()].tobytes()}) if isinstance(obj, h5py.Dataset) else None
        )
    return arrays


@pytest.mark.parametrize("case", CASES)
def test_killed_at_any_point_then_resumed_equals_the_uninterrupted_run(runs: Runs, case: str) -> None:
    fault, overrides, left = CASES[case]
    reference, pair = runs.reference(overrides), runs.pair(case)
    killed, resumed, run_dir = pair.killed, pair.resumed, pair.run_dir
    assert killed.returncode == -signal.SIGKILL, f"{fault} was never reached: {killed.stdout}{killed.stderr}"
    assert pair.left == left, "killed elsewhere than meant: (metrics rows, backed-up epoch)"
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert metric_rows(run_dir) == metric_rows(reference)
    got, want = (checkpoint_arrays(d / "checkpoints" / "last.keras") for d in (run_dir, reference))
    assert got.keys() == want.keys() and all(got[k] == want[k] for k in want), "last.keras differs"
    got_results, want_results = (
        {k: v for k, v in results(d).items() if k not in UNCOMPARED_RESULTS} for d in (run_dir, reference)
    )
    assert got_results == want_results
    assert not list(run_dir.rglob(".*.tmp*")), "temporary files left behind"


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """``tmpfs(size_k)``: a new folder with a file system of ``size_k`` KiB mounted on it (root only)."""
    mounted: list[Path] = []

    def mount(size_k: int) -> Path:
        folder = tmp_path / f"disk-{size_k}k"
        folder.mkdir()
        try:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size_k}k", "tmpfs", str(folder)], capture_output=True, text=True
            )
        except FileNotFoundError:
            pytest.skip("no mount command here")
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], capture_output=True)


# tmpfs sizes (KiB) at which the tiny run's disk fills up while writing: best.keras, last.keras (epoch 1),
# the backup's weights (epoch 1), a figure after training. Measured; each window is 20 KiB wide or more.
DISK_SIZES_K = (70, 110, 150, 270)


def test_a_full_disk_ends_in_one_line_naming_the_file_never_a_crash(tmpfs: Callable[[int], Path]) -> None:
    disks = [tmpfs(size) for size in DISK_SIZES_K]
    # in this process: an exception escaping the command line (a crash) fails here
    done = [dltool_in_process("train", *TINY, f"hydra.run.dir={disk / 'run'}", cwd=disk.parent) for disk in disks]
    named = []
    for disk, result in zip(disks, done, strict=True):
        run_dir, output = disk / "run", result.stdout + result.stderr
        assert result.returncode == 1, f"{disk.name}: exit {result.returncode}\n{output}"
        assert "Traceback" not in output, output
        (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert line.startswith(f"error: disk full (no space left on device) while writing {run_dir}/"), line
        named.append(line.split(" while writing ")[1].split(";")[0])
        for checkpoint in (run_dir / "checkpoints").glob("*.keras"):
            checkpoint_arrays(checkpoint)  # complete: a zip holding readable HDF5
        state = run_dir / "checkpoints" / "backup" / "state.json"
        if state.exists():
            saved = json.loads(state.read_text())
            assert (state.parent / saved["weights"]).is_file() and (state.parent / saved["arrays"]).is_file()
        assert not list(run_dir.rglob(".*.tmp*")), "temporary files left behind"
    names = {Path(n).name for n in named}
    assert "epoch-1.weights.h5" in names and names & {"best.keras", "last.keras"}, named


def test_an_atomic_write_on_a_full_disk_names_the_file_and_keeps_the_old_one(tmpfs: Callable[[int], Path]) -> None:
    from dltool.rundir import write_bytes

    path = tmpfs(64) / "results.json"
    write_bytes(path, b"{}")
    with pytest.raises(OSError) as err:
        write_bytes(path, b" " * 100_000)
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert path.read_bytes() == b"{}" and [p.name for p in path.parent.iterdir()] == ["results.json"]


def test_the_fault_hook_is_inert_unless_named(tmp_path: Path) -> None:
    code = "from dltool.faults import fault_point; fault_point('start'); fault_point('step'); print('alive')"
    env = {**os.environ, "DLTOOL_FAULT": "step:2"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.strip() == "alive"
    code = "from dltool.faults import fault_point; fault_point('step'); fault_point('step'); print('alive')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == -signal.SIGKILL and not done.stdout


def test_a_resumed_run_shows_each_epoch_once_in_tensorboard(tmp_path: Path) -> None:
    """Killed as epoch 2's backup commits, after TensorBoard has written epoch 2: the resume trains epoch 2
    again, and TensorBoard reads one point per epoch (Keras counts its steps from 0)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    pair = kill_and_resume(tmp_path / "tb", "state.json:2", ("callbacks.tensorboard.enabled=true",))
    assert pair.killed.returncode == -signal.SIGKILL and pair.left == (2, 1)
    assert pair.resumed.returncode == 0, pair.resumed.stdout + pair.resumed.stderr
    for split in ("train", "validation"):
        events = EventAccumulator(str(pair.run_dir / "tensorboard" / split)).Reload()
        assert [e.step for e in events.Tensors("epoch_loss")] == list(range(EPOCHS)), split
