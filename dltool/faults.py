"""Fault injection for tests: ``DLTOOL_FAULT=<point>[:<n>]`` kills dltool with SIGKILL the n-th time (default:
the first) it reaches the named point, so that a test can stop a run at an exact moment and resume it.

Points: ``start`` (model built and restored, before the first epoch), ``step`` (the end of a training step),
``evaluate`` (training over, before the test evaluation and plots), and the name of any file written
atomically (``best.keras``, ``last.keras``, ``epoch-<N>.weights.h5``, ``epoch-<N>.npz``, ``state.json``,
``results.json``): reached once its temporary file is complete, before it is renamed over the file.
The variable is read once, at import; unset, a point costs one comparison.

Example:
    $ DLTOOL_FAULT=step:7 dltool train ...   # killed at the end of its 7th training step
"""

from __future__ import annotations

import os
import signal

_point, _, _nth = os.environ.get("DLTOOL_FAULT", "").partition(":")
_kill_at = int(_nth) if _nth.isdigit() else 1
_reached = 0


def fault_point(name: str) -> None:
    """Kill this process with SIGKILL if ``DLTOOL_FAULT`` names ``name`` and this is its n-th visit."""
    global _reached
    if name != _point:
        return
    _reached += 1
    if _reached == _kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
