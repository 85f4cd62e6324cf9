"""Keras callbacks of a run: the run directory's metrics and checkpoints, the live display, and the
configured Keras callbacks (early stopping, LR reduction, TensorBoard, backups, your own).

Example:
    >>> callbacks = build_callbacks(run, run_dir, steps_per_epoch=45, has_validation=True)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import importlib.util
import io
import logging
import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from dltool.config import RunConfig
from dltool.console import console
from dltool.faults import fault_point
from dltool.training.artifacts import naming, write_bytes, write_text
from dltool.training.optimizers import epoch_learning_rate, has_schedule

EXTRA_COLUMNS = ("lr", "epoch_time_s")
log = logging.getLogger("dltool")


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


class MetricsCSV(keras.callbacks.Callback):
    """``metrics.csv``: one row per epoch, columns epoch, training metrics, ``val_`` metrics, lr, epoch_time_s.

    Rows are flushed each epoch (and logged to train.log); an existing file is appended to (resume).
    """

    def __init__(self, path: Path, stop: RunStop | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.stop = stop or RunStop()
        self._columns: list[str] | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.stop.discards(epoch):
            return
        if self._columns is None:
            metrics = [k for k in logs if k not in EXTRA_COLUMNS]
            train = [k for k in metrics if not k.startswith("val_")]
            self._columns = [
                "epoch",
                *train,
                *[k for k in metrics if k.startswith("val_")],
                *[k for k in EXTRA_COLUMNS if k in logs],
            ]
            if not self.path.exists():
                write_text(self.path, ",".join(self._columns) + "\n")
        row = {"epoch": epoch + 1, **{k: _scalar(v) for k, v in logs.items()}}
        with naming(self.path), self.path.open("a", newline="") as f:
            csv.writer(f).writerow([row.get(c, "") for c in self._columns])
        log.info("epoch %d: %s", epoch + 1, "  ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"))


class Checkpoint(keras.callbacks.Callback):
    """``checkpoints/best.keras`` (best by ``monitor``) and ``checkpoints/last.keras``, written atomically.

    Each file is saved under a temporary name and renamed, so a killed run never leaves a truncated
    checkpoint; an epoch the guards stopped (non-finite loss, Ctrl-C) is not saved, so the files
    keep the last good epoch. ``best_epoch``/``best_logs`` say which epoch the best file holds.
    """

    def __init__(
        self, directory: Path, monitor: str, mode: str, save_best: bool, save_last: bool, stop: RunStop | None = None
    ) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.monitor, self.save_best, self.save_last = monitor, save_best, save_last
        self.stop = stop or RunStop()
        self.mode = mode if mode != "auto" else monitor_mode(monitor)
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.best_logs: dict[str, float] = {}
        # the model the files hold, when it is not the one trained: feature extraction trains the head
        # of a transfer model on cached features, and its checkpoints must still read images
        self.saved_model: keras.Model | None = None

    @property
    def best_path(self) -> Path:
        return self.directory / "best.keras"

    @property
    def last_path(self) -> Path:
        return self.directory / "last.keras"

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.stop.discards(epoch):
            return
        value = logs.get(self.monitor)
        saved_best = False
        if value is not None and math.isfinite(value) and self._improved(float(value)):
            self.best_value, self.best_epoch = float(value), epoch + 1
            self.best_logs = {k: _scalar(v) for k, v in logs.items()}
            if self.save_best:
                save_atomically(self.saved_model or self.model, self.best_path)
                saved_best = True
        if self.save_last and saved_best:
            copy_atomically(self.best_path, self.last_path)  # same state: a copy, not a second serialization
        elif self.save_last:
            save_atomically(self.saved_model or self.model, self.last_path)

    def _improved(self, value: float) -> bool:
        if self.best_value is None:
            return True
        return value < self.best_value if self.mode == "min" else value > self.best_value

    def get_state(self) -> dict[str, Any]:
        """What a resumed run needs to go on comparing epochs with the best one."""
        return {"best_value": self.best_value, "best_epoch": self.best_epoch, "best_logs": self.best_logs}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best_value, self.best_epoch, self.best_logs = state["best_value"], state["best_epoch"], state["best_logs"]


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops training when the loss is NaN or infinite, recording in ``stop`` the epoch and step where it was seen.

    The running loss of the batch logs is read a few times a second, not at every step (reading it
    waits for the device); once non-finite it stays so, so the step found is at most that far late.
    The epoch's final loss is always checked.
    """

    deferred_logs = True

    def __init__(self, stop: RunStop | None = None, check_every_s: float = 0.25) -> None:
        super().__init__()
        self.stop = stop or RunStop()
        self.check_every_s = check_every_s
        self.failed_at: tuple[int, int, float] | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch, self._last_check, self._steps = epoch, time.perf_counter(), 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._steps = batch + 1
        if time.perf_counter() - self._last_check >= self.check_every_s:
            self._last_check = time.perf_counter()
            self._check(logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._check(logs)

    def _check(self, logs: dict | None) -> None:
        if self.failed_at is None and logs and "loss" in logs:
            loss = _scalar(logs["loss"])
            if not math.isfinite(loss):
                self.failed_at = (self._epoch + 1, self._steps, loss)
                self.stop.reason = f"non-finite loss {loss}"
                self.stop.epoch, self.stop.step, self.stop.incomplete_epoch = self._epoch + 1, self._steps, self._epoch
                self.model.stop_training = True


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
            self.model.stop_training = True
            self.stop.reason, self.stop.epoch, self.stop.step = "interrupted", self._epoch + 1, batch + 1
            self.stop.incomplete_epoch = self._epoch

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.requested and self.stop.reason is None:  # interrupted after the epoch's last step: keep it
            self.model.stop_training = True
            self.stop.reason, self.stop.epoch = "interrupted", epoch + 1

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


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

    def _on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._dispatch("on_train_batch_end", batch, logs)

    def _on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._dispatch("on_test_batch_end", batch, logs)

    def _on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._dispatch("on_predict_batch_end", batch, logs)

    def _dispatch(self, hook: str, batch: int, logs: dict | None) -> None:
        converted = None
        for callback in self.callbacks:
            method = getattr(callback, hook)
            if getattr(method, "__func__", None) is getattr(keras.callbacks.Callback, hook):
                continue  # the base class's no-op: nothing to convert for
            if getattr(callback, "deferred_logs", False):
                method(batch, logs=logs)
            else:
                if converted is None:
                    converted = {k: _scalar(v) for k, v in (logs or {}).items()}
                method(batch, logs=converted)


def monitor_mode(monitor: str) -> str:
    """``max`` for accuracy-like metrics, ``min`` for losses and errors (as Keras decides)."""
    name = monitor.removeprefix("val_")
    return "max" if any(k in name for k in ("acc", "auc", "precision", "recall", "f1")) else "min"


def format_metrics(logs: dict | None) -> str:
    return "  ".join(f"{k} {_scalar(v):.4g}" for k, v in (logs or {}).items() if k not in EXTRA_COLUMNS)


def save_atomically(model: keras.Model, path: Path) -> None:
    """Save ``model`` as a ``.keras`` file with :func:`write_bytes`: complete or untouched, even on a full disk."""
    write_bytes(path, keras_archive(model))


def copy_atomically(source: Path, path: Path) -> None:
    """Copy ``source`` to ``path`` with :func:`write_bytes`."""
    write_bytes(path, source.read_bytes())


def keras_archive(model: keras.Model) -> bytes:
    """The ``.keras`` file of ``model``, made in memory (Keras' own saving needs a path ending in ``.keras``)."""
    from keras.src.saving import saving_lib

    buffer = io.BytesIO()
    saving_lib.save_model(model, buffer)
    return buffer.getvalue()


def weights_archive(model: keras.Model) -> bytes:
    """The ``.weights.h5`` file of ``model`` (weights and optimizer state, as ``save_weights`` writes), made in
    memory: HDF5 writing straight into a file crashes the process (segfault) when the disk fills up."""
    from keras.src.saving import saving_lib

    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    try:
        saving_lib._save_state(model, weights_store=store, assets_store=None, inner_path="", visited_saveables=set())
    finally:
        store.close()
    return buffer.getvalue()


def build_callbacks(
    run: RunConfig,
    run_dir: Path,
    monitor: str,
    steps_per_epoch: int,
    show_progress: bool = True,
    stop: RunStop | None = None,
    validation: tuple[Any, Any] | None = None,
    class_names: list[str] | None = None,
) -> tuple[list[keras.callbacks.Callback], Checkpoint]:
    """Every callback of a run, in the order they must see each epoch's logs; and the checkpoint.

    ``stop`` is shared by the guards (non-finite loss, Ctrl-C) and the callbacks that save;
    ``validation`` (x, y) feeds the activation logger and the embeddings projector.
    """
    from dltool.training.monitoring import monitoring_callbacks

    cb, trainer = run.callbacks, run.trainer
    stop = stop or RunStop()
    ckpt_dir = run_dir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = Checkpoint(ckpt_dir, monitor, cb.mode, cb.checkpoint.save_best, cb.checkpoint.save_last, stop)
    callbacks: list[keras.callbacks.Callback] = [InterruptGuard(stop)]
    if cb.terminate_on_nan:
        callbacks.append(NonFiniteLossGuard(stop))
    if run.optimizer.use_ema and cb.swap_ema_weights:
        # before the callbacks that read the weights at the epoch's end: they see (and save) the average
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if has_schedule(run.optimizer):
        callbacks.append(
            keras.callbacks.LearningRateScheduler(
                lambda epoch, lr: epoch_learning_rate(run.optimizer, epoch, trainer.epochs)
            )
        )
    if cb.reduce_lr_on_plateau.enabled:
        p = cb.reduce_lr_on_plateau
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor,
                mode=cb.mode,
                factor=p.factor,
                patience=p.patience,
                min_delta=p.min_delta,
                min_lr=p.min_lr,
            )
        )
    callbacks.append(EpochStats())
    if cb.early_stopping.enabled:
        e = cb.early_stopping
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                mode=cb.mode,
                patience=e.patience,
                min_delta=e.min_delta,
                restore_best_weights=e.restore_best_weights,
                start_from_epoch=e.start_from_epoch,
            )
        )
    callbacks += [MetricsCSV(run_dir / "metrics.csv", stop), checkpoint]
    if cb.tensorboard.enabled and importlib.util.find_spec("tensorflow") is None:
        log.warning("callbacks.tensorboard: TensorFlow is not installed, so no TensorBoard events are written")
    elif cb.tensorboard.enabled:
        callbacks.append(
            keras.callbacks.TensorBoard(
                log_dir=str(run_dir / "tensorboard"),
                histogram_freq=cb.tensorboard.histogram_freq,
                write_graph=cb.tensorboard.write_graph,
                write_images=cb.tensorboard.write_images,
            )
        )
    callbacks += monitoring_callbacks(cb, run_dir, validation, class_names)
    callbacks += [_instantiate(spec) for spec in cb.custom]
    if show_progress and cb.progbar_logger:
        from dltool.training.monitoring import TextProgbar

        callbacks.append(TextProgbar())
    elif show_progress:
        callbacks.append(RichProgress(trainer.epochs, steps_per_epoch))
    return callbacks, checkpoint


def _instantiate(spec: dict[str, Any]) -> keras.callbacks.Callback:
    from hydra.utils import instantiate

    return instantiate(spec)


def _scalar(value: Any) -> float:
    return float(keras.ops.convert_to_numpy(value))
