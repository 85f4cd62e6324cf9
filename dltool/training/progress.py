"""What a run shows while it trains: per-epoch stats in the logs, the live display, and a callback list
that does not make every step wait for the device.

Example:
    >>> callbacks = DeferredLogsCallbackList([EpochStats(), RichProgress(30, 45)], model=model)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from functools import partialmethod
from typing import Any

import keras

from dltool.console import console
from dltool.training.guards import scalar

EXTRA_COLUMNS = ("lr", "epoch_time_s")
# the batch hooks, each with the older name Keras' default implementation forwards to
BATCH_HOOKS = {"on_train_batch_end": "on_batch_end", "on_test_batch_end": None, "on_predict_batch_end": None}


class EpochStats(keras.callbacks.Callback):
    """Adds ``lr`` and ``epoch_time_s`` to each epoch's logs (so CSV, TensorBoard and the display see them)."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs.pop("learning_rate", None)  # Keras' LR callbacks add it; one name, "lr", for every run
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            logs["lr"] = float(f"{lr:.7g}")  # float32 noise off: 0.001, not 0.0010000000474974513
            logs["epoch_time_s"] = time.perf_counter() - self._start


class RichProgress(keras.callbacks.Callback):
    """A live display of epoch, step, ETA and metrics, in place of Keras' text progress bar.

    Outside a terminal (redirected, CI, a batch job) a live display would leave only its final state,
    so one line per epoch is printed instead, as Keras' ``verbose=2`` does:
    ``epoch 3/30  0.4s  loss 0.1512  accuracy 0.9576  val_loss 0.1712  val_accuracy 0.9514``.
    """

    deferred_logs = True

    def __init__(self, epochs: int, steps_per_epoch: int, refresh_s: float = 0.2) -> None:
        super().__init__()
        self.epochs, self.steps, self.refresh_s = epochs, steps_per_epoch, refresh_s
        self._live = console.is_terminal
        self._epoch_started = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        if not self._live:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description:>9}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=console,
        )
        self._progress.start()
        self._epoch_task = self._progress.add_task("epochs", total=self.epochs, metrics="")
        self._step_task = self._progress.add_task("steps", total=self.steps, metrics="")
        self._last = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_started = time.perf_counter()
        if self._live:
            self._progress.reset(self._step_task, total=self.steps, description=f"epoch {epoch + 1}", metrics="")

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        if self._live and now - self._last >= self.refresh_s:  # fetching metrics costs a device sync: not every step
            self._last = now
            self._progress.update(self._step_task, completed=batch + 1, metrics=format_metrics(logs))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self._live:
            seconds = time.perf_counter() - self._epoch_started
            console.print(
                f"epoch {epoch + 1}/{self.epochs}  {seconds:.1f}s  {format_metrics(logs)}",
                highlight=False,
                soft_wrap=True,
            )
            return
        self._progress.update(self._step_task, completed=self.steps)
        self._progress.update(self._epoch_task, completed=epoch + 1, metrics=format_metrics(logs))

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._live:
            self._progress.stop()


class DeferredLogsCallbackList(keras.callbacks.CallbackList):
    """Keras' CallbackList, except that batch logs are not converted to Python numbers at every step.

    Keras converts each step's logs before calling any batch hook, which makes every step wait for
    the device: ResNet-20 on an H100 (JAX) trained at 31k images/s instead of plain ``fit``'s 80k.
    Callbacks marked ``deferred_logs`` (ours, which read logs a few times a second) get the logs as
    they are; any other callback with a batch hook still gets Python numbers, converted once per step.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hooks: dict[tuple[str, int], list[tuple[Any, bool]]] = {}

    def _dispatch(self, hook: str, batch: int, logs: dict | None = None) -> None:
        converted = None
        for method, deferred in self._batch_hooks(hook):
            if not deferred and converted is None:
                converted = {k: scalar(v) for k, v in (logs or {}).items()}
            method(batch, logs=logs if deferred else converted)

    _on_train_batch_end = partialmethod(_dispatch, "on_train_batch_end")
    _on_test_batch_end = partialmethod(_dispatch, "on_test_batch_end")
    _on_predict_batch_end = partialmethod(_dispatch, "on_predict_batch_end")

    def _batch_hooks(self, hook: str) -> list[tuple[Any, bool]]:
        """The bound ``hook`` of each callback that does something in it, and whether it takes deferred logs;
        found once per list of callbacks, not at every step."""
        key = (hook, len(self.callbacks))
        if key not in self._hooks:
            self._hooks[key] = [
                (getattr(c, hook), bool(getattr(c, "deferred_logs", False)))
                for c in self.callbacks
                if _has_batch_hook(c, hook)
            ]
        return self._hooks[key]


def _has_batch_hook(callback: keras.callbacks.Callback, hook: str) -> bool:
    """Whether ``callback`` does something in ``hook``: it overrides it, or the older name Keras' own
    ``on_train_batch_end`` calls (``on_batch_end``, as ``TerminateOnNaN`` implements)."""
    return any(
        getattr(getattr(callback, name), "__func__", None) is not getattr(keras.callbacks.Callback, name)
        for name in (hook, BATCH_HOOKS[hook])
        if name is not None
    )


def format_metrics(logs: dict | None) -> str:
    """``loss 0.1512  accuracy 0.9576``: the logs' metrics (not lr and epoch time), as the display shows them."""
    return "  ".join(f"{k} {scalar(v):.4g}" for k, v in (logs or {}).items() if k not in EXTRA_COLUMNS)
