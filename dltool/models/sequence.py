"""Sequence models: recurrent networks and 1-D CNNs (``model=rnn``, ``model=conv1d``).

Inputs are (steps, features) float series, or (steps,) integer tokens, which
:func:`dltool.models.build_model` first embeds (``Embedding(vocab_size, model.embedding_dim)``).

``rnn``: stacked SimpleRNN / LSTM / GRU layers, each optionally Bidirectional; every layer but the last returns
its whole sequence, the last its final state (``output: vector``) or every step (``output: sequence``: the Dense
head then applies at each step, seq-to-seq).

``conv1d``: blocks of 'valid' Conv1D layers, each followed by a max-pooling of ``pool`` steps, global pooling
over time and hidden Dense layers: the seeds' text CNN of the multi-output example (``000``), whose parameters
its defaults match (tested).

Example:
    dltool train data=sequences model=rnn model.cell=gru model.units=[32,32] model.bidirectional=true
"""

from __future__ import annotations

from typing import Any

import keras

from dltool.config.model import Conv1DConfig, RNNConfig
from dltool.config.regularization import RegularizationConfig
from dltool.errors import ConfigError
from dltool.models.layers import kernel_regularizer, require_sequence

_CELLS = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def build_rnn(cfg: RNNConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """Stacked (bidirectional) recurrent layers on a sequence; the last state or the whole sequence."""
    require_sequence(inputs, "rnn")
    if not cfg.units:
        raise ConfigError("model.units=[]: an RNN needs at least one recurrent layer, e.g. [32]")
    penalty = kernel_regularizer(reg)
    x = inputs
    for i, units in enumerate(cfg.units, start=1):
        last = i == len(cfg.units)
        layer = _CELLS[cfg.cell](
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
