"""The Optuna study: pruners, storage, worker seeds, stale trials, GPUs per trial.

Several ``dltool sweep`` processes pointed at one storage URL and study name share one search:
the storage hands out trial numbers, each process seeds its sampler from the study seed and its
own identity (a fixed seed would make every process propose the same parameters), and a trial
whose process died is failed and queued again with the same parameters and run directory.

Example:
    >>> worker_seed(0, "host:1") == worker_seed(0, "host:1") != worker_seed(0, "host:2")
    True
    >>> gpu_groups([0, 1, 2, 3], 2)
    [[0, 1], [2, 3]]
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import importlib.util
import inspect
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dltool.errors import ConfigError, JobFailed, did_you_mean, first_line

log = logging.getLogger("dltool.sweep")

HEARTBEAT_S = 10  # a running trial's process writes a heartbeat this often (more often under a short grace)
GRACE_S = 60  # default sweep.heartbeat_grace_s: a trial without a heartbeat this long has lost its process
MAX_RETRIES = 3  # a trial whose process died is run again at most this many times
FINISHED = ("COMPLETE", "PRUNED")  # the trial states ``sweep.n_trials`` counts


# name -> builder(optuna.pruners, max epochs); epochs are the pruners' resource
PRUNERS: dict[str, Callable[[Any, int], Any]] = {
    "none": lambda pruners, epochs: pruners.NopPruner(),
    "median": lambda pruners, epochs: pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
    "hyperband": lambda pruners, epochs: pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1)),
    "successive_halving": lambda pruners, epochs: pruners.SuccessiveHalvingPruner(min_resource=1),
}


def check_pruner(name: str) -> None:
    """One line unless ``name`` is a pruner of :data:`PRUNERS`.

    >>> check_pruner("hyperbnd")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: sweep.pruner=hyperbnd: must be one of none, median, hyperband, successive_halving (did you mean ...
    """
    if name not in PRUNERS:
        raise ConfigError(f"sweep.pruner={name}: must be one of {', '.join(PRUNERS)}{did_you_mean(name, PRUNERS)}")


def make_pruner(name: str, epochs: int) -> Any:
    """The pruner ``name`` for trials of ``epochs`` epochs (the trial process builds the same one)."""
    import optuna

    return PRUNERS[name](optuna.pruners, epochs)


class StorageUnreachable(JobFailed):
    """The study's database stayed out of reach for the whole grace period (exit 1)."""


def heartbeat_interval(grace_s: int) -> int:
    """Seconds between a running trial's heartbeats: several fit in the grace period.

    >>> heartbeat_interval(60), heartbeat_interval(6), heartbeat_interval(1)
    (10, 2, 1)
    """
    return max(1, min(HEARTBEAT_S, grace_s // 3))


def driver_url(url: str) -> str:
    """``url`` with the PostgreSQL driver that is installed: psycopg 3 unless psycopg2 is there.

    SQLAlchemy's plain ``postgresql://`` means psycopg2 in SQLAlchemy 2.0 and psycopg 3 in 2.1;
    ``dltool[postgres]`` installs psycopg 3, so the plain form is pinned to it when psycopg2 is absent.
    """
    scheme, sep, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        return url
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg2" if importlib.util.find_spec("psycopg2") else "postgresql+psycopg"
    if not importlib.util.find_spec(scheme.rpartition("+")[2]):
        raise ConfigError(
            f"sweep.storage={shown_url(url)}: no PostgreSQL driver; install it with pip install 'dltool[postgres]'"
        )
    return f"{scheme}{sep}{rest}"


def shown_url(url: str) -> str:
    """``url`` without its password, fit to print and log.

    >>> shown_url("postgresql://me:secret@db:5432/s")
    'postgresql://me:***@db:5432/s'
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def make_storage(url: str, grace_s: int = GRACE_S) -> Any:
    """An RDB storage with heartbeats, so that trials of a dead process are failed and queued again, whose
    calls wait out a lost database (a restart, a network blip) for ``grace_s`` seconds (:class:`_Retry`)."""
    import optuna
    from sqlalchemy.exc import ArgumentError, IntegrityError, ProgrammingError

    engine: dict[str, Any] = (
        {"connect_args": {"timeout": 60}}  # workers wait on SQLite's lock
        if url.startswith("sqlite")
        # a server restart leaves dead connections in the pool; an unanswered connect is a lost database too
        else {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10} if url.startswith("postgres") else {}}
    )
    url_with_driver = driver_url(url)
    retry = _Retry(shown_url(url), grace_s)
    for attempt in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                return _storage_class()(
                    url_with_driver,
                    retry=retry,
                    engine_kwargs=engine,
                    heartbeat_interval=heartbeat_interval(grace_s),
                    grace_period=grace_s,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                        max_retry=MAX_RETRIES
                    ),
                )
            except (ArgumentError, ImportError, ModuleNotFoundError) as err:
                raise ConfigError(f"sweep.storage={shown_url(url)}: not a usable SQLAlchemy URL ({err})") from None
            except (IntegrityError, ProgrammingError):
                # workers creating the same new database at once: a table, type or row another one has just
                # created ("already exists"); it is there now, so the next attempt finds it
                if attempt == 2:
                    raise
                time.sleep(1 + attempt)
    raise AssertionError("unreachable")


class _Retry:
    """Calls that wait out a lost database connection: pauses of 0.5, 1, 2 ... 8 s, ``patience_s`` in all."""

    def __init__(self, shown_url: str, patience_s: float) -> None:
        self.shown_url, self.patience_s = shown_url, patience_s
        self.gave_up: str | None = None  # why, once the patience ran out: later calls fail at once

    def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        deadline, pause = time.monotonic() + self.patience_s, 0.5
        while True:
            if self.gave_up:
                raise StorageUnreachable(self.gave_up)
            try:
                return function(*args, **kwargs)
            except Exception as err:
                if not _connection_lost(err):
                    raise
                reason = first_line(err.__cause__ if err.__cause__ is not None else err)
                left = deadline - time.monotonic()
                if left <= 0:
                    self.gave_up = (
                        f"sweep.storage={self.shown_url}: the database stayed unreachable for "
                        f"{self.patience_s:g} s (sweep.heartbeat_grace_s): {reason}"
                    )
                    raise StorageUnreachable(self.gave_up) from None
                log.warning("the database is unreachable (%s); trying again in %.3g s", reason, min(pause, left))
                time.sleep(min(pause, left))
                pause = min(2 * pause, 8.0)


def _connection_lost(err: BaseException) -> bool:
    """Whether ``err`` (or the SQLAlchemy error Optuna wrapped in it) is a failed or broken connection."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    return any(isinstance(e, OperationalError | InterfaceError) for e in (err, err.__cause__))


@functools.cache
def _storage_class() -> type:
    """Optuna's RDB storage whose every public method goes through the storage's :class:`_Retry`."""
    import optuna

    base = optuna.storages.RDBStorage

    def patient(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            return self.retry.call(method, self, *args, **kwargs)

        return call

    def __init__(self: Any, *args: Any, retry: _Retry, **kwargs: Any) -> None:
        self.retry = retry  # first: the constructor connects, and may call public methods
        retry.call(base.__init__, self, *args, **kwargs)

    # the public methods, and the private ones through which Optuna's cache in front of the storage reads and writes
    cached = ("_create_new_trial", "_get_best_trial_id", "_get_stale_trial_ids", "_get_trials", "_set_trial_param")
    methods = {
        name: patient(m)
        for name, m in vars(base).items()
        if inspect.isfunction(m) and (not name.startswith("_") or name in cached)
    }
    return type("PatientRDBStorage", (base,), {**methods, "__init__": __init__})


def worker_identity() -> str:
    """``host:pid`` of this process: what tells workers apart, and whether a trial's process still lives."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_seed(seed: int, identity: str) -> int:
    """A sampler seed of its own for each worker joining a study (a stable hash of seed and identity)."""
    digest = hashlib.sha256(f"{seed}:{identity}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def open_study(
    storage: Any, name: str, directions: list[str], make: Callable[[int], Any], pruner: Any, seed: int
) -> tuple[Any, bool]:
    """Create the study (sampler seeded with ``seed``), or join it (a seed of this worker's own); and whether this
    process created it. Creation is one row with a unique name, so of several processes started together exactly
    one creates it."""
    import optuna

    try:
        study = optuna.create_study(
            storage=storage, study_name=name, directions=directions, sampler=make(seed), pruner=pruner
        )
        return study, True
    except optuna.exceptions.DuplicatedStudyError:
        pass
    study = optuna.load_study(
        study_name=name, storage=storage, sampler=make(worker_seed(seed, worker_identity())), pruner=pruner
    )
    wanted = [optuna.study.StudyDirection[d.upper()] for d in directions]
    if study.directions != wanted:
        have = ", ".join(d.name.lower() for d in study.directions)
        raise ConfigError(f"sweep.direction: study '{name}' in the storage optimizes {have}; use the same direction")
    return study, False


def fail_dead_trials(study: Any) -> list[int]:
    """Fail the RUNNING trials whose process is gone, queueing each again; return their numbers.

    A trial started on this machine by a process that no longer exists is failed at once; one from
    another machine once its heartbeat is older than the grace period (Optuna's own check). A trial
    whose process died between creating it and writing its first heartbeat and its ``worker`` has
    neither: Optuna never finds it stale, so it is failed once it is older than the grace period.
    """
    import optuna
    from optuna.trial import TrialState

    host = socket.gethostname()
    backend = getattr(study._storage, "_backend", study._storage)  # behind Optuna's cache
    grace = getattr(backend, "grace_period", None) or GRACE_S
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if "worker" in trial.user_attrs:
            worker_host, _, pid = str(trial.user_attrs["worker"]).rpartition(":")
            dead = worker_host == host and pid.isdigit() and not _alive(int(pid))
        else:  # Optuna stores the start as naive local time
            dead = (datetime.datetime.now() - trial.datetime_start).total_seconds() > grace
        if dead and fail_and_requeue(study, trial._trial_id):
            failed.append(trial.number)
    optuna.storages.fail_stale_trials(study)
    return failed


def fail_and_requeue(study: Any, trial_id: int) -> bool:
    """Fail a running trial and queue it again (same parameters, same run directory); False if it had ended."""
    import optuna
    from optuna.trial import TrialState

    try:
        if not study._storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False  # another worker failed it first
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study._storage.get_heartbeat_stale_trial_callback()(study, study._storage.get_trial(trial_id))
    return True


def stop_orphan(process: str | None, run_dir: Path, timeout: float = 60) -> bool:
    """Kill the ``dltool train`` of a previous attempt at this trial (``process``: the ``host:pid`` it recorded)
    if it still runs on this machine, where it would go on writing into ``run_dir``: only if its command line
    is that run's (a pid may have been reused). Returns whether one was killed, once it is gone."""
    host, _, pid = str(process or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or not _trains_in(int(pid), run_dir):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while _trains_in(int(pid), run_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


def _trains_in(pid: int, run_dir: Path) -> bool:
    """Whether ``pid`` is a live ``dltool train`` of ``run_dir``, or a trial worker of ``run_dir``'s sweep."""
    if Path("/proc/self").is_dir():
        try:  # a zombie's cmdline is empty: it counts as gone
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            return False
    else:  # no /proc (macOS): ask ps
        args = subprocess.run(["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True).stdout.split()
    if "dltool.trial_worker" in args:  # a trial worker names the trials folder it runs in
        return str(run_dir.parent) in args
    return "train" in args and bool({f"hydra.run.dir={run_dir}", f"resume={run_dir}"} & set(args))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def visible_gpus() -> list[int]:
    """Indices of the GPUs trials may use: ``CUDA_VISIBLE_DEVICES`` if set, else ``nvidia-smi -L``."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [int(d) for d in listed.split(",") if d.strip().isdigit()]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [i for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def gpu_groups(gpus: Sequence[int], per_trial: int) -> list[list[int]]:
    """Disjoint groups of ``per_trial`` GPUs: parallel trial slot ``j`` uses group ``j % len(groups)``.

    >>> gpu_groups([0, 1, 2], 1)
    [[0], [1], [2]]
    >>> gpu_groups([0, 1, 2], 2)
    [[0, 1]]
    """
    if per_trial <= 0:
        return []
    return [list(gpus[i : i + per_trial]) for i in range(0, len(gpus) - per_trial + 1, per_trial)]


def slot_devices(gpus: Sequence[int], setting: Any, slot: int) -> str | None:
    """``CUDA_VISIBLE_DEVICES`` of parallel slot ``slot`` (None: leave the environment alone).

    ``setting`` is ``sweep.gpus_per_trial``: ``auto`` gives one GPU per trial when there are GPUs;
    ``0`` hides the GPUs (CPU trials).

    >>> slot_devices([0, 1], "auto", 0), slot_devices([0, 1], "auto", 1), slot_devices([0, 1], "auto", 2)
    ('0', '1', '0')
    >>> slot_devices([], "auto", 3) is None, slot_devices([0, 1], 0, 0)
    (True, '')
    """
    per_trial = (1 if gpus else 0) if setting == "auto" else int(setting)
    if per_trial == 0:
        return "" if gpus else None
    groups = gpu_groups(gpus, per_trial)
    if not groups:
        raise ConfigError(f"sweep.gpus_per_trial={setting}: only {len(gpus)} GPU(s) visible ({list(gpus)})")
    return ",".join(map(str, groups[slot % len(groups)]))
