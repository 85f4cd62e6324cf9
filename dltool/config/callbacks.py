"""Schemas of the ``callbacks`` group: checkpoints, early stopping, TensorBoard and the other Keras callbacks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dltool.config.fields import opt


@dataclass
class CheckpointConfig:
    save_best: bool = opt(True, "keep checkpoints/best.keras (best by callbacks.monitor)")
    save_last: bool = opt(True, "keep checkpoints/last.keras (the last epoch)")


@dataclass
class EarlyStoppingConfig:
    enabled: bool = opt(True, "stop when callbacks.monitor stops improving")
    patience: int = opt(10, "epochs without improvement before stopping", ge=0)
    min_delta: float = opt(0.0, "smallest change that counts as an improvement", ge=0.0)
    restore_best_weights: bool = opt(True, "end with the best epoch's weights")
    start_from_epoch: int = opt(0, "epochs to wait before watching", ge=0)


@dataclass
class ReduceLROnPlateauConfig:
    enabled: bool = opt(False, "divide the learning rate when callbacks.monitor plateaus")
    factor: float = opt(0.1, "multiplier of the learning rate", gt=0.0, lt=1.0)
    patience: int = opt(5, "epochs without improvement before reducing", ge=0)
    min_delta: float = opt(1e-4, "smallest change that counts as an improvement", ge=0.0)
    min_lr: float = opt(0.0, "lower bound of the learning rate", ge=0.0)


@dataclass
class TensorBoardConfig:
    enabled: bool = opt(True, "write tensorboard/ event files")
    histogram_freq: int = opt(0, "epochs between weight histograms (0: none)", ge=0)
    write_graph: bool = opt(True, "write the model graph")
    write_images: bool = opt(False, "also draw the weights as images")
    embeddings_layer: str | None = opt(
        None, "layer whose outputs on validation examples go to the embeddings projector (tensorboard/projector/)"
    )
    embeddings_samples: int = opt(500, "validation examples shown in the projector", gt=0)


@dataclass
class ActivationLoggerConfig:
    enabled: bool = opt(False, "save every layer's activations on validation examples: activations/epoch_NNN.npz")
    samples: int = opt(16, "validation examples fed to the model", gt=0)
    every: int = opt(1, "epochs between two saves", gt=0)
    layers: list[str] = opt([], "layer names to record ([]: every layer)")
    histograms: bool = opt(True, "also write them as TensorBoard histograms (tensorboard/activations/)")


@dataclass
class LambdaCallbackConfig:
    """keras.callbacks.LambdaCallback from the config: per hook, a message template or a callable.

    A template is formatted with ``epoch`` (1-based) and the hook's logs, e.g.
    ``"epoch {epoch}: val_loss {val_loss:.4f}"``, and printed and logged; ``{_target_: pkg.fn}``
    calls that function with the hook's Keras arguments (``epoch, logs`` or ``logs``).
    """

    on_train_begin: Any = opt(None, "template or {_target_: import.path} run when training starts")
    on_epoch_begin: Any = opt(None, "template or {_target_: import.path} run when an epoch starts")
    on_epoch_end: Any = opt(None, "template or {_target_: import.path} run after each epoch (logs: its metrics)")
    on_train_end: Any = opt(None, "template or {_target_: import.path} run when training ends")


@dataclass
class RemoteMonitorConfig:
    enabled: bool = opt(False, "POST each epoch's metrics to an HTTP server (a warning if it cannot be reached)")
    root: str = opt("http://localhost:9000", "server URL")
    path: str = opt("/publish/epoch/end/", "path the metrics are posted to")
    field: str = opt("data", "form field holding the JSON metrics (send_as_json: false)")
    send_as_json: bool = opt(False, "send the metrics as a JSON body instead of a form field")


@dataclass
class CallbacksConfig:
    monitor: str = opt("val_loss", "metric watched by checkpoint, early stopping and LR reduction")
    mode: str = opt("auto", "whether the monitored metric should go down or up", choices=("auto", "min", "max"))
    checkpoint: CheckpointConfig = opt(CheckpointConfig(), "run-directory checkpoints")
    early_stopping: EarlyStoppingConfig = opt(EarlyStoppingConfig(), "keras.callbacks.EarlyStopping")
    reduce_lr_on_plateau: ReduceLROnPlateauConfig = opt(ReduceLROnPlateauConfig(), "keras.callbacks.ReduceLROnPlateau")
    tensorboard: TensorBoardConfig = opt(TensorBoardConfig(), "keras.callbacks.TensorBoard")
    activation_logger: ActivationLoggerConfig = opt(ActivationLoggerConfig(), "layer activations per epoch")
    lambda_callback: LambdaCallbackConfig = opt(LambdaCallbackConfig(), "keras.callbacks.LambdaCallback")
    remote_monitor: RemoteMonitorConfig = opt(RemoteMonitorConfig(), "keras.callbacks.RemoteMonitor")
    swap_ema_weights: bool = opt(True, "with optimizer.use_ema: validate and checkpoint the averaged weights")
    progbar_logger: bool = opt(False, "Keras' text ProgbarLogger in place of dltool's live display")
    terminate_on_nan: bool = opt(True, "stop at the first non-finite loss")
    backup_and_restore: bool = opt(True, "per-epoch backup in checkpoints/backup (the base of resume)")
    custom: list[Any] = opt([], "your own callbacks: a list of {_target_: import.path, ...arguments}")
