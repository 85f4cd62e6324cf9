"""A small Transformer encoder classifier for token sequences (``model=transformer``).

Integer tokens are embedded by :func:`dltool.models.build_model`; float sequences ``(steps, features)`` are
projected to ``embedding_dim`` by a Dense layer instead. A learned :class:`PositionEmbedding` is added, then
``num_blocks`` encoder blocks (Vaswani et al. 2017, post-norm as in Keras' text-classification example),
global pooling over the steps and optional hidden Dense layers.

Example:
    dltool train data=text_folder data.root=news/ model=transformer model.num_blocks=2
"""

from __future__ import annotations

from typing import Any

import keras

from dltool.config.model import TransformerConfig
from dltool.config.regularization import RegularizationConfig
from dltool.errors import ConfigError
from dltool.models.layers import kernel_regularizer, require_sequence


@keras.saving.register_keras_serializable(package="dltool")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per position to a ``(batch, steps, dim)`` sequence of at most ``max_length`` steps."""

    def __init__(self, max_length: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = int(max_length)

    def build(self, input_shape: tuple) -> None:
        self.positions = self.add_weight(
            shape=(self.max_length, input_shape[-1]), initializer="glorot_uniform", name="positions"
        )

    def call(self, inputs: Any) -> Any:
        steps = keras.ops.shape(inputs)[1]
        return inputs + keras.ops.cast(self.positions[:steps], inputs.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "max_length": self.max_length}


def encoder_block(x: Any, cfg: TransformerConfig, penalty: Any, name: str) -> Any:
    """Self-attention and feed-forward sub-layers, each with dropout, a residual and a LayerNormalization."""
    dim = x.shape[-1]
    attention = keras.layers.MultiHeadAttention(
        cfg.num_heads, cfg.key_dim or dim // cfg.num_heads, dropout=cfg.dropout, name=f"{name}_attention"
    )(x, x)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm1")(
        keras.layers.Add(name=f"{name}_residual1")([x, keras.layers.Dropout(cfg.dropout)(attention)])
    )
    ff = keras.layers.Dense(cfg.ff_dim, activation="relu", kernel_regularizer=penalty, name=f"{name}_ff1")(x)
    ff = keras.layers.Dense(dim, kernel_regularizer=penalty, name=f"{name}_ff2")(ff)
    return keras.layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm2")(
        keras.layers.Add(name=f"{name}_residual2")([x, keras.layers.Dropout(cfg.dropout)(ff)])
    )


def build_transformer(cfg: TransformerConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """Position embedding, encoder blocks, global pooling and hidden Dense layers on a sequence."""
    require_sequence(inputs, "transformer")
    if cfg.key_dim is None and cfg.embedding_dim % cfg.num_heads:
        raise ConfigError(
            f"model.num_heads={cfg.num_heads}: must divide model.embedding_dim={cfg.embedding_dim} "
            "(or set model.key_dim)"
        )
    penalty = kernel_regularizer(reg)
    x = inputs
    if x.shape[-1] != cfg.embedding_dim:  # float series: project each step to the model's width
        x = keras.layers.Dense(cfg.embedding_dim, name="projection")(x)
    x = PositionEmbedding(inputs.shape[1], name="positions")(x)
    x = keras.layers.Dropout(cfg.dropout, name="embedding_dropout")(x)
    for i in range(1, cfg.num_blocks + 1):
        x = encoder_block(x, cfg, penalty, f"block{i}")
    pooling = keras.layers.GlobalMaxPooling1D if cfg.global_pool == "max" else keras.layers.GlobalAveragePooling1D
    x = pooling(name="global_pool")(x)
    for i, units in enumerate(cfg.dense_units, start=1):
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=penalty, name=f"dense{i}")(x)
        x = keras.layers.Dropout(cfg.dropout, name=f"dense{i}_dropout")(x)
    return x
