"""Benchmarks: one script per benchmark, figures recorded in BENCHMARKS.md."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a benchmark's child process (``dltool train``, a side in its own process): this
    checkout first on ``PYTHONPATH``, ahead of what was there (the GPU machine's wheels), TensorFlow's
    start-up chatter silenced, then ``extra``."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": path, **extra}
