"""Keras callbacks of a run: the run directory's metrics and checkpoints, the live display, and the
configured Keras callbacks (early stopping, LR reduction, TensorBoard, backups, your own).

The callbacks themselves live in :mod:`~dltool.training.guards` (what stops a run),
:mod:`~dltool.training.checkpoints` (the files written) and :mod:`~dltool.training.progress` (what is shown).

Example:
    >>> callbacks, checkpoint = build_callbacks(run, run_dir, "val_loss", steps_per_epoch=45)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import keras

from dltool.config import RunConfig
from dltool.config.callbacks import CallbacksConfig
from dltool.training.checkpoints import Checkpoint, MetricsCSV
from dltool.training.guards import InterruptGuard, NonFiniteLossGuard, RunStop
from dltool.training.monitoring import TextProgbar, keras_arguments, monitoring_callbacks
from dltool.training.optimizers import epoch_learning_rate, has_schedule
from dltool.training.progress import EpochStats, RichProgress

log = logging.getLogger("dltool")


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
    from hydra.utils import instantiate

    cb = run.callbacks
    stop = stop or RunStop()
    ckpt_dir = run_dir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = Checkpoint(ckpt_dir, monitor, cb.mode, cb.checkpoint.save_best, cb.checkpoint.save_last, stop)
    callbacks: list[keras.callbacks.Callback] = [InterruptGuard(stop)]
    if cb.terminate_on_nan:
        callbacks.append(NonFiniteLossGuard(stop))
    callbacks += _learning_rate_callbacks(run, monitor)
    callbacks.append(EpochStats())
    callbacks += _early_stopping(cb, monitor)
    callbacks += [MetricsCSV(run_dir / "metrics.csv", stop), checkpoint]
    callbacks += _tensorboard(cb, run_dir)
    callbacks += monitoring_callbacks(cb, run_dir, validation, class_names)
    callbacks += [instantiate(spec) for spec in cb.custom]
    if show_progress:
        callbacks.append(TextProgbar() if cb.progbar_logger else RichProgress(run.trainer.epochs, steps_per_epoch))
    return callbacks, checkpoint


def _learning_rate_callbacks(run: RunConfig, monitor: str) -> list[keras.callbacks.Callback]:
    """EMA weight swapping, the per-epoch schedule and LR reduction: before the callbacks that read the
    weights and the learning rate at the epoch's end (they see, and save, the average and the new rate)."""
    cb, callbacks = run.callbacks, []
    if run.optimizer.use_ema and cb.swap_ema_weights:
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if has_schedule(run.optimizer):
        epochs = run.trainer.epochs
        callbacks.append(
            keras.callbacks.LearningRateScheduler(lambda epoch, lr: epoch_learning_rate(run.optimizer, epoch, epochs))
        )
    if cb.reduce_lr_on_plateau.enabled:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=cb.mode, **keras_arguments(cb.reduce_lr_on_plateau))
        )
    return callbacks


def _early_stopping(cb: CallbacksConfig, monitor: str) -> list[keras.callbacks.Callback]:
    if not cb.early_stopping.enabled:
        return []
    return [keras.callbacks.EarlyStopping(monitor=monitor, mode=cb.mode, **keras_arguments(cb.early_stopping))]


def _tensorboard(cb: CallbacksConfig, run_dir: Path) -> list[keras.callbacks.Callback]:
    if not cb.tensorboard.enabled:
        return []
    if importlib.util.find_spec("tensorflow") is None:
        log.warning("callbacks.tensorboard: TensorFlow is not installed, so no TensorBoard events are written")
        return []
    return [
        keras.callbacks.TensorBoard(
            log_dir=str(run_dir / "tensorboard"),
            histogram_freq=cb.tensorboard.histogram_freq,
            write_graph=cb.tensorboard.write_graph,
            write_images=cb.tensorboard.write_images,
        )
    ]
