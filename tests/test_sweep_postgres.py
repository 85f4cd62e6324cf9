"""``dltool sweep`` on a PostgreSQL server: workers sharing one study, a worker killed, a late worker, outages.

The fixture starts a private throw-away cluster (``initdb`` into a temporary directory, as the
``postgres`` user when run as root) on 127.0.0.1 and a free port, one database per test. Trials
are tiny (300 digits, a few epochs); the heartbeat grace period is a few seconds.
"""

from __future__ import annotations

import datetime
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from dltool.sweep.study import driver_url
from tests.conftest import DLTOOL, _env, results
from tests.test_sweep_e2e import epochs

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("postgres")]  # one server, tests that stop it in turn
optuna.logging.set_verbosity(optuna.logging.WARNING)
GRACE_S = 4  # sweep.heartbeat_grace_s of these tests (heartbeats every second)
EPOCHS = 8  # of a trial killed or cut off mid-run


def server_binaries() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: ``pg_config --bindir``, else Debian's newest version."""
    candidates = []
    if shutil.which("pg_config"):
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        candidates.append(Path(bindir))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))][
        ::-1
    ]
    return next((d for d in candidates if (d / "initdb").is_file() and (d / "pg_ctl").is_file()), None)


class Server:
    """A PostgreSQL cluster of its own in ``root``, listening on 127.0.0.1:``port``."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.root, self.data = bindir, root, root / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        # initdb refuses root: the cluster belongs to the postgres user then
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.tool("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def tool(self, name: str, *args: str) -> None:
        subprocess.run([*self.as_owner, str(self.bindir / name), *args], check=True, capture_output=True, cwd="/")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.tool("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self.tool("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def new_database(self, name: str) -> str:
        self.tool("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    pytest.importorskip("psycopg", reason="no PostgreSQL driver: pip install 'dltool[postgres]'")
    bindir = server_binaries()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="dltool-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
        pg = Server(bindir, root)
        pg.start()
    except (OSError, subprocess.CalledProcessError, LookupError) as err:
        shutil.rmtree(root, ignore_errors=True)
        why = (getattr(err, "stderr", None) or b"").decode(errors="replace").strip().splitlines()
        pytest.skip(f"cannot start a PostgreSQL server: {why[-1] if why else err}")
    yield pg
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def storage(server: Server, request: pytest.FixtureRequest) -> str:
    return server.new_database(request.node.name.replace("[", "_").rstrip("]").lower())


@pytest.fixture(autouse=True)
def no_worker_left() -> Iterator[None]:
    """A failing test leaves no worker (nor, through their lifeline, trial) running."""
    yield
    for process in STARTED:
        if process.poll() is None:
            process.kill()
            process.communicate()
    STARTED.clear()


STARTED: list[subprocess.Popen[str]] = []


def worker(storage: str, tmp_path: Path, *overrides: str) -> subprocess.Popen[str]:
    """One ``dltool sweep`` process on study ``s`` of ``storage`` (more overrides last)."""
    command = [
        *DLTOOL,
        "sweep",
        "sweep=quick",
        f"sweep.storage={storage}",
        "sweep.study_name=s",
        f"sweep.heartbeat_grace_s={GRACE_S}",
        "trainer.epochs=2",
        *overrides,
    ]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=_env(None), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    STARTED.append(process)
    return process


def wait_for(pattern: str, root: Path, timeout: float = 120) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = glob.glob(str(root / pattern))
        if found:
            return Path(found[0])
        time.sleep(0.01)
    raise AssertionError(f"no {pattern} under {root} after {timeout} s")


def load(storage: str) -> optuna.Study:
    return optuna.load_study(study_name="s", storage=driver_url(storage))


def finished(storage: str) -> list[optuna.trial.FrozenTrial]:
    return load(storage).get_trials(states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED))


def test_three_workers_finish_exactly_n_trials_and_a_late_worker_has_nothing_to_do(
    storage: str, tmp_path: Path
) -> None:
    workers = [worker(storage, tmp_path, "sweep.n_trials=3", "sweep.pruner=hyperband") for _ in range(3)]
    outputs = [w.communicate(timeout=400) for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], outputs
    done = finished(storage)
    assert len(done) == 3
    run_dirs = [Path(t.user_attrs["run_dir"]) for t in done]
    assert len(set(run_dirs)) == 3 and all(results(d)["status"] == "completed" for d in run_dirs)
    assert len({tuple(sorted(t.params.items())) for t in done}) == 3  # no proposal ran twice
    ran = sorted(tmp_path.glob("outputs/sweeps/*/*/trials/*/results.json"))
    assert len(ran) == 3  # no trial process beyond n_trials
    assert all(t.intermediate_values for t in done)  # each trial reported its epochs for the pruner

    started = time.monotonic()
    late = worker(storage, tmp_path, "sweep.n_trials=3")
    out, err = late.communicate(timeout=120)
    assert late.returncode == 0, out + err
    assert "already holds 3 finished trials (sweep.n_trials=3): nothing to run" in out
    assert time.monotonic() - started < 30 and len(finished(storage)) == 3


def test_a_killed_workers_trial_is_rerun_by_a_survivor_from_its_last_epoch(
    storage: str, server: Server, tmp_path: Path
) -> None:
    first = worker(storage, tmp_path, "sweep.n_trials=2", f"trainer.epochs={EPOCHS}")
    wait_for("outputs/sweeps/*/*/trials/0/checkpoints/backup/state.json", tmp_path)
    first.send_signal(signal.SIGKILL)  # its trial process dies with it
    first.communicate()
    killed_at = datetime.datetime.now()  # Optuna's times are naive local times
    study = load(storage)
    (running,) = study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    for key in ("worker", "process"):  # as if it had run on another machine: only its heartbeat tells it died
        study._storage.set_trial_user_attr(running._trial_id, key, "elsewhere:1")

    survivor = worker(storage, tmp_path, "sweep.n_trials=2", f"trainer.epochs={EPOCHS}")
    out, err = survivor.communicate(timeout=400)
    assert survivor.returncode == 0, out + err
    study = load(storage)
    done = finished(storage)
    assert len(done) == 2
    (dead,) = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    assert dead.number == 0
    # failed once its heartbeat (every second) was GRACE_S old, not before
    assert (dead.datetime_complete - killed_at).total_seconds() >= GRACE_S - 1.5
    (retry,) = [t for t in done if t.system_attrs.get("failed_trial") == 0]
    assert retry.params == dead.params and retry.user_attrs["run_dir"] == dead.user_attrs["run_dir"]
    run_dir = Path(retry.user_attrs["run_dir"])
    assert epochs(run_dir) == list(range(1, EPOCHS + 1))  # each epoch once: continued, not started over
    assert results(run_dir)["resumed_from_epoch"] >= 1


def test_a_short_database_outage_loses_no_result(storage: str, server: Server, tmp_path: Path) -> None:
    sweep = worker(storage, tmp_path, "sweep.n_trials=2")
    first_result = wait_for("outputs/sweeps/*/*/trials/0/results.json", tmp_path)
    server.stop()  # as trial 0 ends: its result is told to the study while the server is away
    time.sleep(3)
    server.start()
    out, err = sweep.communicate(timeout=400)
    assert sweep.returncode == 0, out + err
    done = sorted(finished(storage), key=lambda t: t.number)
    assert len(done) == 2
    assert done[0].value == results(first_result.parent)["best_val_accuracy"]


def test_a_database_that_stays_away_ends_the_worker_in_one_line(storage: str, server: Server, tmp_path: Path) -> None:
    sweep = worker(storage, tmp_path, "sweep.n_trials=2", f"trainer.epochs={EPOCHS}")
    wait_for("outputs/sweeps/*/*/trials/0/checkpoints/backup/state.json", tmp_path)
    server.stop()
    try:
        stopped = time.monotonic()
        out, err = sweep.communicate(timeout=120)
        waited = time.monotonic() - stopped
    finally:
        server.start()
    assert sweep.returncode == 1, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "the database stayed unreachable for 4 s (sweep.heartbeat_grace_s)" in lines[0]
    assert GRACE_S - 1 <= waited < GRACE_S + 20  # a bounded wait, then the end
