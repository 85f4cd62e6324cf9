"""Callbacks that look inside the model while it trains (:class:`ActivationLogger`, :class:`EmbeddingProjector`:
Keras 3's TensorBoard callback projects only ``Embedding`` layer weights, this any layer's outputs), and the
config-driven Keras callbacks of ``callbacks.*``: LambdaCallback messages, RemoteMonitor, the text progress bar.

Example:
    dltool train callbacks.activation_logger.enabled=true callbacks.tensorboard.embeddings_layer=hidden2_act
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import logging
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from dltool.config.callbacks import CallbacksConfig, LambdaCallbackConfig
from dltool.console import console
from dltool.errors import ConfigError, did_you_mean

log = logging.getLogger("dltool")

LAMBDA_HOOKS = ("on_train_begin", "on_epoch_begin", "on_epoch_end", "on_train_end")


def _probe(model: keras.Model, names: list[str], key: str) -> keras.Model:
    """A model from ``model``'s inputs to the outputs of the layers ``names`` (ConfigError for an unknown one)."""
    known = [layer.name for layer in model.layers]
    for name in names:
        if name not in known:
            raise ConfigError(f"{key}={name}: no such layer{did_you_mean(name, known)}; layers: {', '.join(known)}")
    return keras.Model(model.inputs, [model.get_layer(name).output for name in names])


def _reads(model: keras.Model, x: np.ndarray, key: str) -> bool:
    """Whether ``model`` takes examples like ``x``; a warning if not (feature extraction trains a head on
    cached features, while the validation examples are images)."""
    expected = tuple(model.inputs[0].shape[1:])
    if expected == tuple(x.shape[1:]):
        return True
    log.warning("%s: the trained model reads inputs of shape %s, not %s: nothing recorded", key, expected, x.shape[1:])
    return False


def drop_replayed_events(directory: Path, epochs_done: int) -> int:
    """Remove, from the TensorBoard event files under ``directory``, the summaries of the epochs a resumed run
    trains again (a killed session may have written epoch ``epochs_done + 1`` before its backup), so that
    TensorBoard shows each epoch once. Keras' ``train/`` and ``validation/`` count epochs from 0, the activation
    histograms from 1. Each changed file is rewritten atomically; returns the number of summaries removed.
    """
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    from dltool.rundir import write_bytes

    removed = 0
    for path in sorted(directory.rglob("events.out.tfevents.*")) if directory.is_dir() else []:
        first_replayed = epochs_done + (1 if "activations" in path.relative_to(directory).parts else 0)
        records = list(RawEventFileLoader(str(path)).Load())
        kept = []
        for record in records:
            event = event_pb2.Event.FromString(record)
            if not event.HasField("summary") or event.step < first_replayed:
                kept.append(record)
        if len(kept) == len(records):
            continue
        removed += len(records) - len(kept)
        buffer = io.BytesIO()
        writer = RecordWriter(buffer)
        for record in kept:
            writer.write(record)
        write_bytes(path, buffer.getvalue())
    return removed


def _summary_writer(directory: Path) -> Any:
    """A ``tf.summary`` writer into ``directory``, or None (with a warning) without TensorFlow."""
    if importlib.util.find_spec("tensorflow") is None:
        log.warning("TensorFlow is not installed: no TensorBoard summaries in %s", directory)
        return None
    import tensorflow as tf

    return tf.summary.create_file_writer(str(directory))


class ActivationLogger(keras.callbacks.Callback):
    """Every ``every`` epochs, each layer's outputs on ``x`` to ``directory/epoch_NNN.npz`` (keys: layer names),
    and as histograms into ``histogram_dir`` (TensorBoard) when given.

    ``layers`` names the layers to record (empty: all but the inputs).
    """

    def __init__(
        self, x: np.ndarray, directory: Path, every: int = 1, layers: list[str] = (), histogram_dir: Path | None = None
    ) -> None:
        super().__init__()
        self.x, self.directory, self.every = x, Path(directory), every
        self.layer_names, self.histogram_dir = list(layers), histogram_dir
        self._writer: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._probe_model = None
        if not _reads(self.model, self.x, "callbacks.activation_logger"):
            return
        self._names = self.layer_names or [
            layer.name for layer in self.model.layers if not isinstance(layer, keras.layers.InputLayer)
        ]
        self._probe_model = _probe(self.model, self._names, "callbacks.activation_logger.layers")
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.histogram_dir is not None and self._writer is None:
            self._writer = _summary_writer(self.histogram_dir)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._probe_model is None or (epoch + 1) % self.every:
            return
        outputs = keras.tree.flatten(self._probe_model.predict(self.x, verbose=0))
        arrays = {name: keras.ops.convert_to_numpy(out) for name, out in zip(self._names, outputs, strict=True)}
        np.savez(self.directory / f"epoch_{epoch + 1:03d}.npz", **arrays)
        if self._writer is not None:
            import tensorflow as tf

            with self._writer.as_default(step=epoch + 1):
                for name, values in arrays.items():
                    tf.summary.histogram(name, values)
            self._writer.flush()


class EmbeddingProjector(keras.callbacks.Callback):
    """At the end of training, ``layer``'s outputs on ``x`` (flattened per example) to ``directory/tensor.tsv``,
    ``labels`` to ``metadata.tsv``, and the ``projector_config.pbtxt`` TensorBoard's projector reads."""

    def __init__(self, layer: str, x: np.ndarray, labels: list[str] | None, directory: Path) -> None:
        super().__init__()
        self.layer, self.x, self.labels, self.directory = layer, x, labels, Path(directory)

    def on_train_begin(self, logs: dict | None = None) -> None:
        key = "callbacks.tensorboard.embeddings_layer"
        self._probe_model = _probe(self.model, [self.layer], key) if _reads(self.model, self.x, key) else None

    def on_train_end(self, logs: dict | None = None) -> None:
        from tensorboard.plugins import projector

        if self._probe_model is None:
            return
        vectors = keras.ops.convert_to_numpy(self._probe_model.predict(self.x, verbose=0)).reshape(len(self.x), -1)
        self.directory.mkdir(parents=True, exist_ok=True)
        np.savetxt(self.directory / "tensor.tsv", vectors, delimiter="\t", fmt="%.6g")
        config = projector.ProjectorConfig()
        embedding = config.embeddings.add()
        embedding.tensor_name = self.layer
        embedding.tensor_path = "tensor.tsv"  # relative to the config file
        embedding.tensor_shape.extend(vectors.shape)
        if self.labels is not None:
            (self.directory / "metadata.tsv").write_text("".join(f"{label}\n" for label in self.labels))
            embedding.metadata_path = "metadata.tsv"
        projector.visualize_embeddings(str(self.directory), config)
        # TensorBoard lists a folder as a run only if it holds event files: one text summary says what this is
        writer = _summary_writer(self.directory)
        if writer is not None:
            import tensorflow as tf

            with writer.as_default(step=0):
                tf.summary.text("embeddings", f"outputs of layer {self.layer} on {len(self.x)} validation examples")
            writer.close()
        log.info("embeddings projector: %s outputs of %d examples in %s", self.layer, len(self.x), self.directory)


class _SafeFormatter(string.Formatter):
    """``str.format`` restricted to plain names: no ``{x.attr}`` or ``{x[i]}`` reaching into objects."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if not field_name.isidentifier():
            raise ValueError(f"only plain names may be used in a message template, not {{{field_name}}}")
        return super().get_field(field_name, args, kwargs)


def _hook(name: str, spec: Any) -> Callable[..., None]:
    """The function LambdaCallback calls for hook ``name``: the template's message, or the configured callable."""
    if isinstance(spec, dict):
        from hydra.utils import get_method

        return get_method(spec["_target_"])
    formatter = _SafeFormatter()

    def say(*args: Any) -> None:
        epoch, logs = (args[0], args[1] if len(args) > 1 else None) if "epoch" in name else (None, args[0])
        values = {k: float(keras.ops.convert_to_numpy(v)) for k, v in (logs or {}).items()}
        try:
            message = formatter.vformat(spec, (), {**values, "epoch": None if epoch is None else epoch + 1})
        except (KeyError, ValueError, TypeError) as err:
            message = f"{spec!r}: cannot be formatted ({type(err).__name__}: {err}); logs have {', '.join(values)}"
        console.print(message, highlight=False)
        log.info("%s", message)

    return say


def lambda_callback(cfg: LambdaCallbackConfig) -> keras.callbacks.LambdaCallback | None:
    """keras.callbacks.LambdaCallback with the configured hooks, or None if none is set."""
    hooks = {name: _hook(name, getattr(cfg, name)) for name in LAMBDA_HOOKS if getattr(cfg, name) is not None}
    return keras.callbacks.LambdaCallback(**hooks) if hooks else None


class TextProgbar(keras.callbacks.ProgbarLogger):
    """Keras' own text progress bar (``callbacks.progbar_logger``), shown although dltool calls ``fit`` with
    ``verbose=0`` (its own display is off then)."""

    def set_params(self, params: dict) -> None:
        super().set_params({**params, "verbose": 1})


def monitoring_callbacks(
    cb: CallbacksConfig,
    run_dir: Path,
    validation: tuple[np.ndarray, np.ndarray] | None,
    class_names: list[str] | None = None,
) -> list[keras.callbacks.Callback]:
    """The callbacks of ``callbacks.activation_logger``, ``.tensorboard.embeddings_layer``, ``.lambda_callback``,
    the experiment tracker (``logger=mlflow``) and ``.remote_monitor`` (those set), in that order."""
    callbacks: list[keras.callbacks.Callback] = []
    x_val, y_val = validation if validation is not None else (np.zeros((0,)), np.zeros((0,)))
    wants = [k for k, on in (("activation_logger", cb.activation_logger.enabled),
                             ("tensorboard.embeddings_layer", cb.tensorboard.embeddings_layer)) if on]  # fmt: skip
    if wants and not len(x_val):
        log.warning("callbacks.%s: no validation split (data.validation_split=0), so nothing is recorded", wants[0])
    elif wants:
        a = cb.activation_logger
        if a.enabled:
            histograms = run_dir / "tensorboard" / "activations" if a.histograms else None
            callbacks.append(
                ActivationLogger(x_val[: a.samples], run_dir / "activations", a.every, a.layers, histograms)
            )
        t = cb.tensorboard
        if t.embeddings_layer:
            n = t.embeddings_samples
            labels = _labels(y_val[:n], class_names)
            callbacks.append(
                EmbeddingProjector(t.embeddings_layer, x_val[:n], labels, run_dir / "tensorboard" / "projector")
            )
    lam = lambda_callback(cb.lambda_callback)
    if lam is not None:
        callbacks.append(lam)
    from dltool.training.tracking import active, epoch_callback

    tracker = active()  # logger=mlflow: started by dltool.commands.train for this run
    if tracker is not None:
        callbacks.append(epoch_callback(tracker))
    if cb.remote_monitor.enabled:
        callbacks.append(keras.callbacks.RemoteMonitor(**keras_arguments(cb.remote_monitor)))
    return callbacks


def keras_arguments(node: Any) -> dict[str, Any]:
    """A ``callbacks.*`` node's fields but ``enabled``: the arguments of the Keras callback it configures."""
    return {f.name: getattr(node, f.name) for f in dataclasses.fields(node) if f.name != "enabled"}


def _labels(y: np.ndarray, class_names: list[str] | None) -> list[str] | None:
    """One label per example for the projector: the class name of integer labels, else the value."""
    if y.ndim > 1 and y.shape[-1] != 1:
        return None  # one-hot or sequences: no single label to show
    flat = y.reshape(len(y))
    if class_names and np.issubdtype(flat.dtype, np.integer):
        return [class_names[int(v)] for v in flat]
    return [f"{v:g}" if np.issubdtype(flat.dtype, np.floating) else str(v) for v in flat]
