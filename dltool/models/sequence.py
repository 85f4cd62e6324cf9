"""Sequence models: recurrent networks and 1-D CNNs (``model=rnn``, ``model=conv1d``).

Inputs are (steps, features) float series, or (steps,) integer tokens, which
:func:`dltool.models.build_model` first embeds (``Embedding(vocab_size, model.embedding_dim)``).

``conv1d``'s defaults are the seeds' text CNN of the multi-output example (``000``), whose parameters they
match (tested).

Example:
    dltool train data=sequences model=rnn model.cell=gru model.units=[32,32] model.bidirectional=true
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import ACTIVATIONS, ConvStackBlockConfig, ModelConfig
from dltool.config.registry import option
from dltool.config.regularization import RegularizationConfig
from dltool.errors import ConfigError


@option("model")
@dataclass
class RNNConfig(ModelConfig):
    """Recurrent network: stacked SimpleRNN / LSTM / GRU layers (optionally bidirectional), the last state
    (seq-to-vector) or every step (seq-to-sequence) into the output layer. Integer tokens get an embedding.

    Example:
        dltool train model=rnn data=sequences model.cell=gru model.units=[32,32] model.bidirectional=true
    """

    builder: ClassVar[str] = "dltool.models.sequence:build_rnn"
    name: str = "rnn"
    cell: str = opt("lstm", "recurrent layer", choices=("simple", "lstm", "gru"))
    units: list[int] = opt([32], "units of the stacked recurrent layers (several: a deep RNN)")
    bidirectional: bool = opt(False, "wrap each recurrent layer in Bidirectional")
    output: str = opt(
        "vector", "vector: last state only (seq-to-vector); sequence: every step", choices=("vector", "sequence")
    )
    dropout: float = opt(0.0, "dropout of the inputs of each recurrent layer", ge=0.0, lt=1.0)
    recurrent_dropout: float = opt(0.0, "dropout of the recurrent state", ge=0.0, lt=1.0)
    recurrent_initializer: str = opt("orthogonal", "initializer of the recurrent kernels")
    embedding_dim: int = opt(32, "size of the token embedding (integer token inputs only)", gt=0)


@option("model")
@dataclass
class Conv1DConfig(ModelConfig):
    """1-D CNN for text and time series, the seeds' multi-output example body: Conv1D 128 5, max-pool 5,
    Conv1D 256 x2, max-pool 5, Conv1D 256 x2, global max pooling, Dense 128, output layer.

    Example:
        dltool train model=conv1d data=sequences data.length=500 model.embedding_dim=32
    """

    builder: ClassVar[str] = "dltool.models.sequence:build_conv1d"
    name: str = "conv1d"
    activation: str = opt("relu", "activation of the convolutions and hidden Dense layers", choices=ACTIVATIONS)
    kernel_size: int = opt(5, "kernel size of the convolutions", gt=0)
    stack: list[ConvStackBlockConfig] = opt(
        [ConvStackBlockConfig([128], 5), ConvStackBlockConfig([256, 256], 5), ConvStackBlockConfig([256, 256], 0)],
        "blocks of 'valid' Conv1D layers, each followed by a max-pooling of size pool (0: none)",
    )
    global_pool: str = opt("max", "pooling over time after the stack", choices=("max", "average"))
    dense_units: list[int] = opt([128], "hidden Dense layers after the pooling")
    embedding_dim: int = opt(256, "size of the token embedding (integer token inputs only)", gt=0)


_CELLS = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}  # keras.layers


def build_rnn(cfg: RNNConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """Stacked (bidirectional) recurrent layers on a sequence; the last state or the whole sequence."""
    import keras

    from dltool.models.layers import kernel_regularizer, require_sequence

    require_sequence(inputs, "rnn")
    if not cfg.units:
        raise ConfigError("model.units=[]: an RNN needs at least one recurrent layer, e.g. [32]")
    penalty = kernel_regularizer(reg)
    x = inputs
    for i, units in enumerate(cfg.units, start=1):
        last = i == len(cfg.units)
        layer = getattr(keras.layers, _CELLS[cfg.cell])(
            units,
            return_sequences=not last or cfg.output == "sequence",
            dropout=cfg.dropout,
            recurrent_dropout=cfg.recurrent_dropout,
            recurrent_initializer=cfg.recurrent_initializer,
            kernel_regularizer=penalty,
            name=f"{cfg.cell}{i}",
        )
        x = (keras.layers.Bidirectional(layer, name=f"bidirectional{i}") if cfg.bidirectional else layer)(x)
    return x


def build_conv1d(cfg: Conv1DConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """Conv1D/max-pooling blocks, global pooling over time and Dense layers on a sequence."""
    import keras

    from dltool.models.layers import kernel_regularizer, require_sequence

    require_sequence(inputs, "conv1d")
    penalty = kernel_regularizer(reg)
    x = inputs
    for b, block in enumerate(cfg.stack, start=1):
        for c, filters in enumerate(block.filters, start=1):
            steps = x.shape[1]
            if steps is not None and steps < cfg.kernel_size:
                raise ConfigError(
                    f"model.stack[{b - 1}]: a 'valid' Conv1D of {cfg.kernel_size} steps does not fit the {steps} "
                    f"steps left there (input {inputs.shape[1]} steps); use longer sequences or fewer blocks"
                )
            x = keras.layers.Conv1D(
                filters, cfg.kernel_size, activation=cfg.activation, kernel_regularizer=penalty, name=f"conv{b}_{c}"
            )(x)
        if block.pool:
            x = keras.layers.MaxPooling1D(block.pool, name=f"pool{b}")(x)
    pooling = keras.layers.GlobalMaxPooling1D if cfg.global_pool == "max" else keras.layers.GlobalAveragePooling1D
    x = pooling(name="global_pool")(x)
    for i, units in enumerate(cfg.dense_units, start=1):
        x = keras.layers.Dense(units, activation=cfg.activation, kernel_regularizer=penalty, name=f"dense{i}")(x)
    return x
