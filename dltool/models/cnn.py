"""Convolutional network: conv/pool blocks, a flatten, then hidden Dense layers (``model=cnn``).

``model=cnn`` is the seeds' MNIST table, ``model=cnn_cifar`` the TensorFlow CNN tutorial's network (their
parameter counts: tests/test_models.py).

Example:
    dltool train model=cnn data=mnist
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import DenseStackConfig, ImageModelConfig
from dltool.config.registry import option
from dltool.config.regularization import RegularizationConfig


@dataclass
class ConvBlockConfig:
    filters: int = opt(32, "number of filters", gt=0)
    kernel_size: int = opt(3, "square kernel size", gt=0)
    convs: int = opt(1, "convolutions before the pooling", ge=1)
    padding: str = opt("same", "padding of the convolutions", choices=("same", "valid"))
    pool: int = opt(2, "pooling size and stride (0: no pooling)", ge=0)
    pool_type: str = opt("max", "pooling kind", choices=("max", "average"))


@option("model")
@dataclass
class CNNConfig(DenseStackConfig, ImageModelConfig):
    """The seeds' MNIST CNN: conv 32 3x3 'same' + ReLU, max-pool 2, flatten, Dense 128, output layer.
    On 28x28x1 with 10 classes: 320 + 802,944 + 1,290 = 804,554 parameters.

    Example:
        dltool train model=cnn data=mnist
    """

    builder: ClassVar[str] = "dltool.models.cnn:build_cnn"
    name: str = "cnn"
    blocks: list[ConvBlockConfig] = opt([ConvBlockConfig()], "conv/pool blocks, in order")
    dense_units: list[int] = opt([128], "Dense layers after the flatten")


def build_cnn(cfg: CNNConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """The conv blocks and hidden Dense layers of a CNN on image ``inputs`` (height, width, channels)."""
    import keras

    from dltool.models.layers import check_fits, dense_stack, require_image, weighted_layer

    example_shape = require_image(inputs, "cnn")
    x = inputs
    for b, block in enumerate(cfg.blocks):
        for c in range(1, block.convs + 1):
            name = f"block{b + 1}_conv{c}"
            if block.padding == "valid":
                key = f"model.blocks[{b}].kernel_size={block.kernel_size}"
                check_fits(x, block.kernel_size, key, "a 'valid' convolution", example_shape)
            x = weighted_layer(
                keras.layers.Conv2D, x, cfg, reg, name, block.filters, block.kernel_size, padding=block.padding
            )
        if block.pool > 0:
            check_fits(x, block.pool, f"model.blocks[{b}].pool={block.pool}", "a pooling", example_shape)
            pooling = keras.layers.MaxPooling2D if block.pool_type == "max" else keras.layers.AveragePooling2D
            x = pooling(block.pool, name=f"block{b + 1}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return dense_stack(x, list(cfg.dense_units), cfg, reg)
