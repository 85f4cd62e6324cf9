"""A small Transformer encoder classifier for token sequences (``model=transformer``).

Integer tokens are embedded by :func:`dltool.models.build_model`; float sequences ``(steps, features)`` are
projected to ``embedding_dim`` by a Dense layer instead. A learned :class:`~dltool.models.layers.PositionEmbedding`
is added, then ``num_blocks`` encoder blocks (Vaswani et al. 2017, post-norm as in Keras' text-classification example),
global pooling over the steps and optional hidden Dense layers.

Example:
    dltool train data=text_folder data.root=news/ model=transformer model.num_blocks=2
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import ModelConfig
from dltool.config.registry import option
from dltool.config.regularization import RegularizationConfig
from dltool.errors import ConfigError


@option("model")
@dataclass
class TransformerConfig(ModelConfig):
    """Transformer encoder for text (token sequences) and series: token + learned position embedding,
    blocks of multi-head self-attention and a feed-forward network (each with dropout, a residual and
    LayerNormalization), global pooling over the steps, optional Dense layers, output layer.

    Example:
        dltool train model=transformer data=text_folder data.root=news/ model.num_blocks=2 model.num_heads=4
    """

    builder: ClassVar[str] = "dltool.models.transformer:build_transformer"
    name: str = "transformer"
    embedding_dim: int = opt(64, "size of the token embedding and of every encoder block's output", gt=0)
    num_blocks: int = opt(1, "encoder blocks (self-attention + feed-forward)", gt=0)
    num_heads: int = opt(2, "attention heads per block", gt=0)
    key_dim: int | None = opt(None, "size of each head's queries and keys (null: embedding_dim / num_heads)", gt=0)
    ff_dim: int = opt(128, "hidden units of each block's feed-forward network", gt=0)
    dropout: float = opt(0.1, "dropout of attention weights, embeddings, sub-layer outputs, head", ge=0.0, lt=1.0)
    global_pool: str = opt("average", "pooling over the steps after the blocks", choices=("average", "max"))
    dense_units: list[int] = opt([], "hidden Dense layers after the pooling")


def encoder_block(x: Any, cfg: TransformerConfig, penalty: Any, name: str) -> Any:
    """Self-attention and feed-forward sub-layers, each with dropout, a residual and a LayerNormalization."""
    import keras

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
    import keras

    from dltool.models.layers import PositionEmbedding, kernel_regularizer, require_sequence

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
