"""Trial workers: one process runs trial after trial (``dltool`` command lines), its output in each trial's log;
it is replaced when due (trial count, memory mark) and when it dies, and a trial it died in is failed."""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from dltool.lifeline import child_env
from dltool.sweep import study as studies
from dltool.sweep.plan import make_plan
from dltool.sweep.runner import SweepRunner
from dltool.sweep.worker import TrialWorker
from tests.conftest import run_dltool


def finish(worker: TrialWorker, argv: list[str]) -> tuple[int, int, str]:
    """(exit code, worker pid, output) of one trial."""
    output = io.BytesIO()
    pid = worker.submit(argv, output).pid
    while (code := worker.wait(output, 60)) is None:
        pass
    return code, pid, output.getvalue().decode()


def new_worker(tmp_path: Path, max_trials: int = 20, max_rss_mb: float | None = None) -> TrialWorker:
    return TrialWorker(child_env(dict(os.environ)), tmp_path / "trials", max_trials, max_rss_mb)


def test_a_worker_runs_trial_after_trial_until_its_count_is_reached(tmp_path: Path) -> None:
    worker = new_worker(tmp_path, max_trials=2)
    try:
        (code0, pid0, out0), (code1, pid1, out1), (code2, pid2, out2) = (
            finish(worker, argv) for argv in (["list", "optimizer"], ["train", "model=mlpp"], ["list", "sweep"])
        )
    finally:
        worker.close()
    assert (code0, code1, code2) == (0, 2, 0)  # each command's own exit code
    assert pid0 == pid1 != pid2  # two trials per worker, then a fresh one
    assert out0.startswith("optimizer=<option>") and "adam " in out0 and "sweep=" not in out0
    # a trial's output ends where its own does: the worker's end-of-trial mark is not in it
    assert out1 == "error: model=mlpp: no such model option (did you mean mlp?)" + out1[out1.index(";") :]
    assert out1.endswith("xception\n") and "\x1e" not in out1
    assert out2.startswith("sweep=<option>") and "optimizer=" not in out2


def test_a_worker_above_its_memory_mark_is_replaced(tmp_path: Path) -> None:
    worker = new_worker(tmp_path, max_rss_mb=1)  # any Python process holds more than 1 MiB
    try:
        pids = [finish(worker, ["list", "trainer"])[1] for _ in range(2)]
    finally:
        worker.close()
    assert pids[0] != pids[1]


def test_a_trial_that_kills_its_worker_gets_its_exit_status_and_the_next_trial_a_fresh_worker(tmp_path: Path) -> None:
    worker = new_worker(tmp_path)
    try:
        output = io.BytesIO()
        dead = worker.submit(["train", "trainer.epochs=1", f"hydra.run.dir={tmp_path / 'run'}"], output)
        os.kill(dead.pid, signal.SIGKILL)  # as the OOM killer would, mid-trial
        assert worker.wait(output, 60) == -signal.SIGKILL  # what a trial process killed so returns
        code, pid, out = finish(worker, ["list", "trainer"])
        assert (code, out.startswith("trainer=<option>")) == (0, True) and pid != dead.pid
        os.kill(pid, signal.SIGKILL)  # killed between trials (and gone): the next trial starts another
        while worker.process.poll() is None:
            time.sleep(0.01)
        code, again, _ = finish(worker, ["list", "trainer"])
        assert code == 0 and again not in (pid, dead.pid)
    finally:
        worker.close()


SPLIT_MARK = """
import os, sys, time
from dltool.sweep.worker import MARK
for piece in (b"its last line", MARK[:4], MARK[4:] + b"3 10\\n"):
    os.write(1, piece)
    time.sleep(0.3)  # each piece its own read
sys.stdin.read()
"""


def test_an_end_mark_that_arrives_in_pieces_ends_the_trial_and_stays_out_of_its_log(tmp_path: Path) -> None:
    worker = new_worker(tmp_path)
    worker.process = subprocess.Popen(
        [sys.executable, "-c", SPLIT_MARK], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=worker.env
    )
    worker.busy = True
    output = io.BytesIO()
    try:
        assert worker.wait(output, 30) == 3
    finally:
        worker.close()
    assert output.getvalue() == b"its last line"  # the newline before the mark is the mark's


def test_a_retry_stops_a_worker_of_its_sweep_still_running(tmp_path: Path) -> None:
    def worker_like(trials_dir: Path) -> subprocess.Popen:
        sleeper = "import time; time.sleep(120)"
        process = subprocess.Popen([sys.executable, "-c", sleeper, "dltool.trial_worker", str(trials_dir)])
        deadline = time.monotonic() + 30  # forked but not yet started, its command line is still this one's
        cmdline = Path(f"/proc/{process.pid}/cmdline")
        while Path("/proc/self").is_dir() and b"dltool.trial_worker" not in cmdline.read_bytes():
            assert time.monotonic() < deadline, "the worker-like process never started"
            time.sleep(0.01)
        return process

    orphan, neighbour = worker_like(tmp_path / "a" / "trials"), worker_like(tmp_path / "b" / "trials")
    try:
        here = socket.gethostname()
        assert not studies.stop_orphan(f"{here}:{neighbour.pid}", tmp_path / "a" / "trials" / "3")  # another sweep's
        assert studies.stop_orphan(f"{here}:{orphan.pid}", tmp_path / "a" / "trials" / "3")
        assert orphan.wait(timeout=5) == -signal.SIGKILL and neighbour.poll() is None
    finally:
        for process in (orphan, neighbour):
            process.kill()
            process.wait()


def test_a_searched_backend_takes_a_process_per_trial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for argv, isolation in (([], "worker"), (["trainer.backend=choice(tensorflow,jax)"], "process")):
        plan = make_plan(["sweep=quick", *argv])
        study = optuna.create_study(direction="maximize")
        assert SweepRunner(plan, study, 1, lambda study: None).isolation == isolation


@pytest.mark.e2e
@pytest.mark.parametrize("isolation", ["worker", "process"])
def test_a_trial_that_crashes_its_worker_fails_and_the_sweep_goes_on(tmp_path: Path, isolation: str) -> None:
    # killed the 2nd time a process reaches the test evaluation: each worker's 2nd trial; no trial process ever
    argv = ["sweep=quick", "sweep.n_trials=3", "trainer.epochs=1", "sweep.pruner=none", f"sweep.isolation={isolation}"]
    done = run_dltool("sweep", *argv, cwd=tmp_path, env={"DLTOOL_FAULT": "evaluate:2"})
    assert done.returncode == 0, done.stdout + done.stderr
    (sweep_dir,) = (tmp_path / "outputs" / "sweeps").glob("*/*")
    rows = list(csv.DictReader((sweep_dir / "trials.csv").open()))
    # three workers: two trials each, the 2nd killed, until the 3rd completes the sweep
    expected = ["complete", "fail"] * 2 + ["complete"] if isolation == "worker" else ["complete"] * 3
    assert [r["state"] for r in rows] == expected
    killed = [f"exit code {-signal.SIGKILL}"] * 2 if isolation == "worker" else []
    assert [r["error"] for r in rows if r["state"] == "fail"] == killed
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{sweep_dir / 'study.db'}")
    pids = [t.user_attrs["process"] for t in study.get_trials()]
    first_seen = list(dict.fromkeys(pids))  # the processes, numbered in the order they ran trials
    assert [first_seen.index(pid) for pid in pids] == ([0, 0, 1, 1, 2] if isolation == "worker" else [0, 1, 2])
    for number in range(len(rows)):  # each trial's output in its own log, the worker's mark in none
        log = (sweep_dir / "trials" / str(number) / "output.log").read_text()
        assert f"trials/{number}\n" in log and "\x1e" not in log
        assert all(f"trials/{other}\n" not in log for other in range(len(rows)) if other != number)
