"""The process of a sweep's trial worker (:class:`dltool.sweep.worker.TrialWorker` starts it): it reads one JSON
line of ``dltool`` arguments per trial on stdin, runs each as the command line would, in this process, and
writes :data:`~dltool.sweep.worker.MARK`, the exit code and its resident memory after each trial's output.

    $ python -m dltool.trial_worker outputs/sweeps/2026-11-23/10-00-00/trials
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import traceback
from pathlib import Path

from dltool.sweep.worker import MARK


def serve() -> None:
    """Run the trials read from stdin, one JSON line each, until stdin closes."""
    from dltool.lifeline import follow_parent

    follow_parent()  # before anything slow: a worker must not outlive its sweep
    if os.environ.get("HYDRA_FULL_ERROR") != "1":  # what ``dltool train`` does first, done once
        from dltool.quiet import quiet_libraries

        quiet_libraries()
    environment = dict(os.environ)
    requests = os.fdopen(os.dup(0), encoding="utf-8")
    null = os.open(os.devnull, os.O_RDONLY)  # a trial that reads its stdin gets nothing, not the next trial
    os.dup2(null, 0)
    os.close(null)
    for line in requests:
        code = run_trial(json.loads(line))
        reset(environment)
        sys.stdout.flush()
        sys.stderr.flush()
        # after the trial's output, on descriptor 2 (through the library-line filter, which keeps the order)
        os.write(2, MARK + f"{code} {round(rss_mb())}\n".encode())


def run_trial(argv: list[str]) -> int:
    """``dltool ARGV`` in this process; its exit code."""
    from dltool.cli import app

    try:
        app(args=argv, prog_name="dltool")
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        print(done.code, file=sys.stderr)  # as the interpreter does with a non-integer code
        return 1
    except Exception:  # as an uncaught exception ends a process: its traceback, exit 1
        traceback.print_exc()
        return 1
    return 0


def reset(environment: dict[str, str]) -> None:
    """Leave nothing of a trial to the next: the environment it may have changed, the logging Hydra set up
    (what the next trial logs before Hydra's own set-up must not land in this trial's ``train.log``), and Keras'
    state: ``clear_session`` also resets the dtype policy a mixed-precision trial set, and collects garbage."""
    os.environ.clear()
    os.environ.update(environment)
    for handler in logging.root.handlers[:]:
        logging.root.removeHandler(handler)
        handler.close()
    logging.root.setLevel(logging.WARNING)  # as in a new process
    if "keras" in sys.modules:
        import keras

        keras.backend.clear_session()


def rss_mb() -> float:
    """This process's resident memory in MiB (on systems without ``/proc``: its peak)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
        return peak / (2**20 if sys.platform == "darwin" else 2**10)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C between trials: the sweep stops it, quietly
        serve()
