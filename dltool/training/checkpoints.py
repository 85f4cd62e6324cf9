"""The files a run's callbacks write into its run directory: ``metrics.csv`` and ``checkpoints/{best,last}.keras``.

Both are Keras' own callbacks (``CSVLogger``, ``ModelCheckpoint``) with what a run directory adds: files
written atomically, an epoch stopped by a guard left out (:class:`dltool.training.guards.RunStop`), and
state a resumed run goes on from.

Example:
    >>> checkpoint = Checkpoint(run_dir / "checkpoints", "val_loss", "auto", True, True)  # doctest: +SKIP
    >>> checkpoint.best_epoch  # doctest: +SKIP
    7
"""

from __future__ import annotations

import io
import logging
import math
from pathlib import Path
from typing import Any

import keras

from dltool.errors import ConfigError, did_you_mean
from dltool.rundir import naming, write_bytes, write_text
from dltool.training.guards import RunStop, scalar
from dltool.training.progress import EXTRA_COLUMNS

log = logging.getLogger("dltool")


class MetricsCSV(keras.callbacks.CSVLogger):
    """``metrics.csv``: one row per epoch, columns epoch, training metrics, ``val_`` metrics, lr, epoch_time_s.

    Keras' ``CSVLogger(append=True)``, except that epochs are numbered from 1, the columns keep the order
    above, the header is written atomically with the first row, and an epoch a guard stopped is not written.
    """

    def __init__(self, path: Path, stop: RunStop | None = None) -> None:
        super().__init__(Path(path), append=True)
        self.path = Path(path)
        self.stop = stop or RunStop()

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Opens nothing yet: a run stopped before its first complete epoch leaves no metrics.csv."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.stop.discards(epoch):
            return
        if self.keys is None:  # kept across fits (transfer learning's two phases): one set of columns
            metrics = [k for k in logs if k not in EXTRA_COLUMNS]
            self.keys = [
                *[k for k in metrics if not k.startswith("val_")],
                *[k for k in metrics if k.startswith("val_")],
                *[k for k in EXTRA_COLUMNS if k in logs],
            ]
        row = {k: scalar(v) for k, v in logs.items()}
        with naming(self.path):
            if self.csv_file is None or self.csv_file.closed:
                if not self.path.exists():
                    write_text(self.path, ",".join(["epoch", *self.keys]) + "\n")
                self.csv_file, self.append_header = self.path.open("a", newline=""), False
            super().on_epoch_end(epoch + 1, {k: row.get(k, "") for k in self.keys})
        log.info("epoch %d: %s", epoch + 1, "  ".join(f"{k} {v:.4g}" for k, v in row.items()))


class Checkpoint(keras.callbacks.ModelCheckpoint):
    """``checkpoints/best.keras`` (best by ``monitor``) and ``checkpoints/last.keras``, written atomically.

    Keras' ``ModelCheckpoint``, whose rule for ``mode="auto"`` it shares with early stopping and LR reduction;
    an epoch the guards stopped or a non-finite value is not saved, so the files keep the last good epoch.
    ``best_epoch``/``best_logs`` say which epoch the best file holds.
    """

    deferred_logs = True  # saves per epoch: its batch hook reads no logs

    def __init__(
        self, directory: Path, monitor: str, mode: str, save_best: bool, save_last: bool, stop: RunStop | None = None
    ) -> None:
        self.directory = Path(directory)
        self.best_path, self.last_path = self.directory / "best.keras", self.directory / "last.keras"
        super().__init__(self.best_path, monitor=monitor, mode=mode, save_best_only=True)
        self.save_best, self.save_last = save_best, save_last
        self.stop = stop or RunStop()
        self.best_epoch: int | None = None
        self.best_logs: dict[str, float] = {}
        # the model the files hold, when it is not the one trained: feature extraction trains the head
        # of a transfer model on cached features, and its checkpoints must still read images
        self.saved_model: keras.Model | None = None

    @property
    def best_value(self) -> float | None:
        return self.best

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        # the compiled metrics are built by the first step: a monitor Keras cannot orient fails there, in one
        # line, before the end of the epoch, where early stopping and LR reduction would fail with a traceback
        if self.monitor_op is None:
            self._set_monitor_op()
        super().on_train_batch_end(batch, logs)

    def _set_monitor_op(self) -> None:
        try:
            super()._set_monitor_op()
        except ValueError:
            prefix = "val_" if self.monitor.startswith("val_") else ""
            names = [f"{prefix}{m.name}" for metric in self.model.metrics for m in getattr(metric, "metrics", [metric])]
            raise ConfigError(
                f"callbacks.monitor={self.monitor}: Keras cannot tell whether it should go down or up"
                f"{did_you_mean(self.monitor, names)}; set callbacks.mode=min or callbacks.mode=max"
            ) from None

    def _save_model(self, epoch: int, batch: int | None, logs: dict | None) -> None:
        if self.stop.discards(epoch):
            return
        logs = logs or {}
        value = logs.get(self.monitor)
        improved = value is not None and math.isfinite(value) and bool(self._is_improvement(float(value), self.best))
        model = self.saved_model or self.model
        if improved:
            self.best, self.best_epoch = float(value), epoch + 1
            self.best_logs = {k: scalar(v) for k, v in logs.items()}
            if self.save_best:
                write_bytes(self.best_path, keras_archive(model))
        if self.save_last and improved and self.save_best:
            write_bytes(self.last_path, self.best_path.read_bytes())  # same state: a copy, not a second serialization
        elif self.save_last:
            write_bytes(self.last_path, keras_archive(model))

    def get_state(self) -> dict[str, Any]:
        """What a resumed run needs to go on comparing epochs with the best one."""
        return {"best_value": self.best, "best_epoch": self.best_epoch, "best_logs": self.best_logs}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.best_logs = state["best_value"], state["best_epoch"], state["best_logs"]


def monitor_mode(monitor: str) -> str:
    """Keras' rule for ``mode="auto"`` from a metric's name alone (no model at hand: a finished run's results).

    ``min`` for losses; the direction of the Keras metric of that name (``max`` for accuracy, AUC, R²,
    cosine similarity; ``min`` for errors and cross-entropies); ``max`` for Keras' ``acc`` and per-output
    accuracies; ``min`` otherwise.
    """
    name = monitor.removeprefix("val_")
    if name == "loss" or name.endswith("_loss"):
        return "min"
    try:
        direction = getattr(keras.metrics.get(name), "_direction", None)
    except ValueError:  # not a Keras metric name
        direction = "up" if name == "acc" or name.endswith(("_acc", "accuracy")) else None
    return "max" if direction == "up" else "min"


def keras_archive(model: keras.Model) -> bytes:
    """The ``.keras`` file of ``model``, made in memory: ``keras.saving.save_model`` takes only a path, the
    function it calls a file object too."""
    from keras.src.saving import saving_lib  # private: imported where used, so a Keras that moves it fails here

    buffer = io.BytesIO()
    saving_lib.save_model(model, buffer)
    return buffer.getvalue()


def weights_archive(model: keras.Model) -> bytes:
    """The ``.weights.h5`` file of ``model`` (weights and optimizer state, as ``save_weights`` writes), made in
    memory: HDF5 writing straight into a file crashes the process (segfault) when the disk fills up, and
    ``save_weights`` takes only a path."""
    from keras.src.saving import saving_lib

    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    try:
        saving_lib._save_state(model, weights_store=store, assets_store=None, inner_path="", visited_saveables=set())
    finally:
        store.close()
    return buffer.getvalue()
