"""Benchmarks: one script per benchmark, figures recorded in BENCHMARKS.md."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a benchmark's child process (``dltool train``, a side in its own process): this
    checkout first on ``PYTHONPATH``, ahead of what was there (the GPU machine's wheels), TensorFlow's
    start-up chatter silenced, then ``extra``."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": path, **extra}


def run_side_process(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run one side's process to its end; when it fails, raise ``RuntimeError`` with its exit status and the last
    lines of its stderr, for :func:`interleaved` to report before the other sides go on."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{exit_status(done.returncode)}; the end of its stderr:\n{tail}")
    return done


def exit_status(code: int) -> str:
    """An exit code as a shell reports it: a process killed by a signal (-11) reads "exit 139 (SIGSEGV)".

    >>> exit_status(-11), exit_status(2)
    ('exit 139 (SIGSEGV)', 'exit 2')
    """
    if code < 0:
        return f"exit {128 - code} ({signal.Signals(-code).name})"
    return f"exit {code}"


def interleaved(sides: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float | None]]:
    """Each side's figure per round, the sides run in turn within a round (A B C, A B C, ...), so a machine
    that slows down weighs on every side alike. A side that raises gets ``None`` for that round, its error is
    printed, and the others go on."""
    figures: dict[str, list[float | None]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, measure in sides.items():
            try:
                figures[name].append(measure())
            except Exception as err:  # one failed side must not end the benchmark
                print(f"{name}: failed ({type(err).__name__}: {err})", file=sys.stderr, flush=True)
                figures[name].append(None)
    return figures


def paired_ratios(numerator: list[float | None], denominator: list[float | None]) -> list[float]:
    """The ratio of two sides per round (rounds where either failed left out)."""
    return [a / b for a, b in zip(numerator, denominator, strict=True) if a is not None and b]


def median_range(values: list[float], fmt: str = ".3f") -> str:
    """``median (min–max)`` of ``values``, or ``failed`` when there are none.

    >>> median_range([1.0, 3.0, 2.0])
    '2.000 (1.000–3.000)'
    """
    if not values:
        return "failed"
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"
