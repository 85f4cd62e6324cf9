"""What stops a run before its last epoch, and what the callbacks that save must know about it: a
non-finite loss, or Ctrl-C.

Example:
    >>> stop = RunStop()
    >>> guards = [InterruptGuard(stop), NonFiniteLossGuard(stop)]  # doctest: +SKIP
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

import keras

from dltool.console import console
from dltool.faults import fault_point


@dataclass
class RunStop:
    """Why training stopped early, shared by the guards that stop it and the callbacks that save.

    The epoch during which a guard stopped training is incomplete (a non-finite loss, or Ctrl-C
    in the middle of it): it is neither checkpointed, nor backed up, nor written to metrics.csv,
    so that what is on disk is always the state at the end of a complete, finite epoch.
    """

    reason: str | None = None  # "non-finite loss ...", "interrupted"
    epoch: int | None = None  # 1-based epoch during which training stopped
    step: int | None = None
    incomplete_epoch: int | None = None  # 0-based Keras epoch index to discard

    def discards(self, epoch: int) -> bool:
        """Whether the epoch Keras numbers ``epoch`` (0-based) must not be saved."""
        return self.incomplete_epoch == epoch

    def halt(self, model: Any, reason: str, epoch: int, step: int | None = None, incomplete: int | None = None) -> None:
        """Record why training stops during 1-based ``epoch`` (the 0-based ``incomplete`` one is discarded), and
        stop ``model``'s ``fit``."""
        self.reason, self.epoch, self.step, self.incomplete_epoch = reason, epoch, step, incomplete
        model.stop_training = True


class NonFiniteLossGuard(keras.callbacks.TerminateOnNaN):
    """Keras' ``TerminateOnNaN``, recording in ``stop`` the epoch and step where the loss stopped being finite.

    Keras reads the loss at every step, which makes every step wait for the device; this reads the
    running loss of the batch logs a few times a second (once non-finite it stays so, so the step found
    is at most that far late), and always the epoch's final loss. It prints nothing: the run's last
    line says where it stopped.
    """

    deferred_logs = True

    def __init__(self, stop: RunStop | None = None, check_every_s: float = 0.25) -> None:
        super().__init__()
        self.stop = stop or RunStop()
        self.check_every_s = check_every_s
        self.failed_at: tuple[int, int, float] | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch, self._last_check, self._steps = epoch, time.perf_counter(), 0

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._steps = batch + 1
        if time.perf_counter() - self._last_check >= self.check_every_s:
            self._last_check = time.perf_counter()
            self._check(logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._check(logs)

    def _check(self, logs: dict | None) -> None:
        if self.failed_at is None and logs and "loss" in logs:
            loss = scalar(logs["loss"])
            if not math.isfinite(loss):
                self.failed_at = (self._epoch + 1, self._steps, loss)
                self.stop.halt(self.model, f"non-finite loss {loss}", self._epoch + 1, self._steps, self._epoch)


class InterruptGuard(keras.callbacks.Callback):
    """Ctrl-C: the first SIGINT lets the current step finish, then stops training; a second one aborts.

    The interrupted epoch is discarded (``stop``), so the resumable state is the end of the last
    complete epoch; a SIGINT between epochs (during validation) stops after that epoch, which is kept.
    """

    deferred_logs = True  # reads no logs

    def __init__(self, stop: RunStop) -> None:
        super().__init__()
        self.stop = stop
        self.requested = False
        self._previous: Any = None
        self._epoch = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread only
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.requested:  # the second Ctrl-C: give up at once
            signal.signal(signal.SIGINT, self._previous)
            raise KeyboardInterrupt
        self.requested = True
        console.print("[yellow]interrupt:[/] finishing the current step, then saving (Ctrl-C again to abort)")

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        fault_point("step")
        if self.requested and self.stop.reason is None:
            self.stop.halt(self.model, "interrupted", self._epoch + 1, batch + 1, self._epoch)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.requested and self.stop.reason is None:  # interrupted after the epoch's last step: keep it
            self.stop.halt(self.model, "interrupted", epoch + 1)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def scalar(value: Any) -> float:
    """A log value (a Python number, a NumPy or backend scalar) as a Python float."""
    return float(keras.ops.convert_to_numpy(value))
