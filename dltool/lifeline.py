"""A child process that dies with its parent: a sweep's trials end when the sweep ends, however it ends.

The parent starts the child with :func:`child_env`, which names the parent in ``DLTOOL_PARENT_PID``;
the child calls :func:`follow_parent` first thing. On Linux the kernel then kills the child when
its parent dies (``PR_SET_PDEATHSIG``); everywhere, a watchdog thread also kills it once it has
been re-parented (its parent pid changes, to init or a subreaper). SIGKILL, because the run's
state on disk is always a complete epoch: the next start resumes from there.

Example:
    >>> child_env({"A": "1"}, parent=42)["DLTOOL_PARENT_PID"]
    '42'
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

ENV = "DLTOOL_PARENT_PID"
POLL_S = 1.0  # how often the watchdog looks at the parent pid
_PR_SET_PDEATHSIG = 1


def child_env(env: dict[str, str], parent: int | None = None) -> dict[str, str]:
    """``env`` for a child that must not outlive this process (or ``parent``)."""
    return {**env, ENV: str(os.getpid() if parent is None else parent)}


def follow_parent() -> None:
    """If started by :func:`child_env`, die with that parent (at once if it is already gone)."""
    value = os.environ.pop(ENV, "")  # popped: the child's own children answer to it, not to our parent
    if not value.isdigit():
        return
    parent = int(value)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # the parent may have died before prctl ran (no signal then), or prctl may not exist: look ourselves
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="dltool-lifeline").start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_S)
    os.kill(os.getpid(), signal.SIGKILL)
