"""The resumable state of a run, ``checkpoints/backup/``, written at the end of every complete epoch.

What is saved: weights and optimizer state, the state of the random-seed generators (Dropout,
augmentation) and of the callbacks, the number of rows of metrics.csv and the training time so far. The
order of the training batches needs no state: it is a function of (seed, epoch) (:mod:`dltool.training.batches`).

Files: ``epoch-<N>.weights.h5`` (Keras' own, made in memory by
:func:`~dltool.training.checkpoints.weights_archive`) and ``epoch-<N>.npz`` hold epoch N; ``state.json`` names
them and is replaced last (atomically), then the files of the previous epoch are removed. A run killed at any
moment leaves a ``state.json`` naming complete files of one epoch.

Example:
    >>> backup = Backup(run_dir / "checkpoints" / "backup")  # doctest: +SKIP
    >>> state = backup.load()  # doctest: +SKIP
    >>> state["epoch"]  # doctest: +SKIP
    3
"""

from __future__ import annotations

import io
import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np

from dltool.errors import ConfigError
from dltool.rundir import write_bytes, write_json, write_text
from dltool.training.checkpoints import Checkpoint, weights_archive
from dltool.training.guards import RunStop

STATE_FILE = "state.json"
log = logging.getLogger("dltool")
# attributes of Keras callbacks that carry over from one epoch to the next (their on_train_begin resets them):
# Keras callbacks have no get_state/set_state, as our Checkpoint has, so these attributes are their state
CALLBACK_STATE = {
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch"),
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
}


class Backup:
    """Save and load the resumable state in one folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.state_path = self.directory / STATE_FILE

    def load(self) -> dict[str, Any] | None:
        """The last committed state, or None when no epoch was backed up."""
        if not self.state_path.is_file():
            return None
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError) as err:
            raise ConfigError(f"{self.state_path}: unreadable resume state ({err})") from None
        for name in (state["weights"], state["arrays"]):
            if not (self.directory / name).is_file():
                raise ConfigError(f"{self.state_path}: names {name}, which is missing from {self.directory}")
        return state

    def save(self, model: keras.Model, epoch: int, extra: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Commit the state at the end of epoch ``epoch`` (1-based)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        weights, npz = f"epoch-{epoch}.weights.h5", f"epoch-{epoch}.npz"
        try:
            write_bytes(self.directory / weights, weights_archive(model))
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            write_bytes(self.directory / npz, buffer.getvalue())
            write_json(self.state_path, {"epoch": epoch, "weights": weights, "arrays": npz, **extra})
        except BaseException:
            for name in (weights, npz):  # a failed write (full disk, kill) must not leave half files behind
                if self._committed() != epoch:
                    (self.directory / name).unlink(missing_ok=True)
            raise
        for path in self.directory.iterdir():  # files of other epochs: the previous save's, or a killed save's
            if path.name not in (weights, npz, STATE_FILE):
                path.unlink(missing_ok=True)

    def _committed(self) -> int | None:
        try:
            return json.loads(self.state_path.read_text())["epoch"]
        except (OSError, ValueError, KeyError):
            return None

    def restore_model(self, model: keras.Model, state: dict[str, Any]) -> None:
        """Load weights and optimizer state into ``model`` (built and compiled); a mismatch is a ConfigError."""
        path = self.directory / state["weights"]
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        try:
            with warnings.catch_warnings():  # Keras warns before it raises; the error below says it once
                warnings.simplefilter("ignore")
                model.load_weights(path)
        except (ValueError, KeyError) as err:
            log.error("loading %s: %s", path, err)
            raise ConfigError(
                f"{path}: does not fit this model: the backup was saved by another architecture than the run's "
                "config describes (details in train.log); start a new run"
            ) from None
        with np.load(self.directory / state["arrays"]) as arrays:
            for i, variable in enumerate(seed_states(model)):
                if f"seed_{i}" in arrays:
                    variable.assign(arrays[f"seed_{i}"])


def seed_states(model: keras.Model) -> list[Any]:
    """State variables of the random-seed generators (Dropout, augmentation): in ``variables``, not ``weights``."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


class ResumeState(keras.callbacks.Callback):
    """Backs up the resumable state at the end of every complete epoch; restores callbacks' state on resume.

    Must come last in the callback list: its ``on_train_begin`` runs after the Keras callbacks reset
    themselves, and its ``on_epoch_end`` after every other callback has updated its state.
    """

    def __init__(
        self,
        backup: Backup,
        stop: RunStop,
        checkpoint: Checkpoint,
        callbacks: list[keras.callbacks.Callback],
        state: dict[str, Any] | None = None,
        enabled: bool = True,
        planned_epochs: int | None = None,
    ) -> None:
        super().__init__()
        self.backup, self.stop, self.checkpoint, self.state, self.enabled = backup, stop, checkpoint, state, enabled
        self.planned_epochs = planned_epochs  # trainer.epochs of this session
        self.stateful = [c for c in callbacks if type(c) in CALLBACK_STATE]
        self.train_time_s = float(state["train_time_s"]) if state else 0.0
        self.epochs_done = int(state["epoch"]) if state else 0  # complete epochs, this session and before
        if state is not None:  # here, not in on_train_begin: a resume left with no epoch to train still needs it
            checkpoint.set_state(state["checkpoint"])  # (results.json's best epoch and metrics)

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.state is not None:
            with np.load(self.backup.directory / self.state["arrays"]) as arrays:
                for i, (callback, saved) in enumerate(zip(self.stateful, self.state["callbacks"], strict=True)):
                    for name, value in saved.items():
                        setattr(callback, name, value)
                    best = [arrays[k] for k in sorted(arrays.files, key=_index) if k.startswith(f"best_{i}_")]
                    if best and hasattr(callback, "best_weights"):
                        callback.best_weights = best
        self._epoch_start = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.stop.discards(epoch):
            return
        self.train_time_s += time.perf_counter() - self._epoch_start
        self.epochs_done = epoch + 1
        if not self.enabled:
            return
        arrays = {f"seed_{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(seed_states(self.model))}
        saved = []
        for i, callback in enumerate(self.stateful):
            saved.append({name: _plain(getattr(callback, name, None)) for name in CALLBACK_STATE[type(callback)]})
            for j, weight in enumerate(getattr(callback, "best_weights", None) or []):
                arrays[f"best_{i}_{j}"] = weight
        extra = {
            "checkpoint": self.checkpoint.get_state(),
            "callbacks": saved,
            "metrics_rows": epoch + 1,
            # a callback (early stopping) ended training here: a resume must not train further unless extended
            "stopped_early": bool(self.model.stop_training) and self.stop.reason is None,
            "planned_epochs": self.planned_epochs,
            "train_time_s": round(self.train_time_s, 3),
        }
        self.backup.save(self.model, epoch + 1, extra, arrays)


def truncate_metrics(path: Path, rows: int) -> None:
    """Keep the header and the first ``rows`` rows of metrics.csv: later rows belong to epochs not backed up."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines(keepends=True)
    if rows == 0:
        path.unlink()
    elif len(lines) > 1 + rows:
        write_text(path, "".join(lines[: 1 + rows]))


def _plain(value: Any) -> Any:
    """A JSON-able copy of a callback's attribute (numpy scalars become floats; JSON keeps Infinity)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    return float(np.asarray(value))


def _index(key: str) -> int:
    return int(key.rsplit("_", 1)[1])
