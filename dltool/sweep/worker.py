"""A trial worker: one process that imports dltool (and, with its first trial, Keras and TensorFlow) once
and then runs trial after trial, each a ``dltool train`` run of its own, so that a sweep of small trials is
not dominated by start-up.

The sweep writes one JSON line per trial on the worker's stdin: the trial's ``dltool`` arguments. The
worker's stdout and stderr are one pipe, copied into the trial's ``output.log``; after each trial the worker
writes :data:`MARK`, the exit code and its resident memory on that pipe. A worker that dies ends its pipe:
its exit status stands for the trial's. The sweep replaces a worker after ``sweep.worker_trials`` trials or
past ``sweep.worker_max_rss_mb``; it dies with its sweep (:mod:`dltool.lifeline`).

Example:
    $ python -m dltool.trial_worker outputs/sweeps/2026-11-23/10-00-00/trials
    ["train", "optimizer.learning_rate=0.01", "hydra.run.dir=outputs/sweeps/2026-11-23/10-00-00/trials/0"]
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("dltool.sweep")
# its own line (the newline before it is the marker's, not the trial's) that no trial output can start with
MARK = b"\n\x1edltool-trial-exit "


class TrialWorker:
    """The sweep's side of one worker slot: starts a worker on demand, hands it trials, replaces it after
    ``max_trials`` trials or past ``max_rss_mb`` MiB (None: no mark). ``trials_dir`` is named on the worker's
    command line, to find it by."""

    def __init__(self, env: dict[str, str], trials_dir: Path, max_trials: int, max_rss_mb: float | None) -> None:
        self.env, self.trials_dir = env, trials_dir
        self.max_trials, self.max_rss_mb = max_trials, max_rss_mb
        self.process: subprocess.Popen | None = None
        self.trials = 0  # run by the current process
        self.busy = False  # a trial was handed over and has not ended
        self._pending = b""  # read from the pipe, not yet written out

    def submit(self, argv: list[str], output: BinaryIO) -> subprocess.Popen:
        """Hand the worker a trial (``dltool`` arguments), starting one if none runs; return its process."""
        if self.process is not None and self.process.poll() is not None:
            self._discard()  # died between trials (killed from outside): the trial gets a fresh one
        if self.process is None:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dltool.trial_worker", str(self.trials_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
            self.trials = 0
        output.write(self._pending)  # what the worker printed between trials (its start-up) goes to this one
        self._pending, self.busy = b"", True
        with contextlib.suppress(BrokenPipeError):  # it died meanwhile: wait() reads its end and exit status
            self.process.stdin.write(json.dumps(argv).encode() + b"\n")
            self.process.stdin.flush()
        return self.process

    def wait(self, output: BinaryIO, timeout: float) -> int | None:
        """Copy the trial's output into ``output`` until it ends (its exit code) or ``timeout`` passes (None)."""
        assert self.process is not None, "submit() first"
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 1 << 16)
            if not chunk:  # the worker died: its exit status is the trial's, as a trial process's is
                output.write(self._pending)
                code = self.process.wait()
                self._discard()
                self.busy = False
                return code
            data = self._pending + chunk
            at = data.find(MARK)
            end = data.find(b"\n", at + len(MARK)) if at >= 0 else -1
            if end < 0:  # no whole mark yet: hold back what may be its beginning
                keep = len(data) - at if at >= 0 else min(len(data), len(MARK) - 1)
                output.write(data[: len(data) - keep])
                self._pending = data[len(data) - keep :]
                continue
            output.write(data[:at])
            self._pending = data[end + 1 :]
            code, rss_mb = (int(word) for word in data[at + len(MARK) : end].split())
            self._after_trial(rss_mb)
            return code
        return None

    def _after_trial(self, rss_mb: int) -> None:
        self.trials, self.busy = self.trials + 1, False
        if self.trials >= self.max_trials or (self.max_rss_mb is not None and rss_mb > self.max_rss_mb):
            log.debug("trial worker %d replaced after %d trials (%d MiB)", self.process.pid, self.trials, rss_mb)
            self.close()

    def close(self) -> None:
        """End the worker: once its trial is over it exits when its stdin closes (killed if it does not within
        30 s); left in the middle of a trial (the sweep failed), it is killed, as a trial process dies with its
        sweep."""
        if self.process is None:
            return
        if self.busy:
            self.process.kill()
        try:  # closes its stdin, and reads what it prints on its way out, so that it cannot block
            self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._discard()

    def _discard(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self.process, self._pending = None, b""
