"""A callback that records when each epoch ends, so that two training loops are timed the same way.

Both sides of a comparison add it last, so an epoch's period includes every other callback's work.
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from pathlib import Path

import keras


class EpochClock(keras.callbacks.Callback):
    """Appends the ``perf_counter`` of every epoch end (and the training start) to a JSON file."""

    now = staticmethod(time.perf_counter)

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = Path(path)
        self.marks: list[float] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.marks = [self.now()]

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.marks.append(self.now())

    def on_train_end(self, logs: dict | None = None) -> None:
        self.path.write_text(json.dumps(self.marks))


class WallClock(EpochClock):
    """The same marks on the wall clock (``time.time``), to be read against another process's start."""

    now = staticmethod(time.time)


def epoch_periods(path: str | Path) -> list[float]:
    """Seconds of each epoch, from one epoch end to the next (the first from the training start)."""
    marks = json.loads(Path(path).read_text())
    return [b - a for a, b in itertools.pairwise(marks)]


def warmup_and_steady(periods: list[float]) -> tuple[float, float]:
    """What the first epoch cost beyond a steady one (tracing, compilation), and the steady epoch: the median
    of the others."""
    steady = statistics.median(periods[1:])
    return periods[0] - steady, steady
