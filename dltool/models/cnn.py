"""Convolutional network: conv/pool blocks, a flatten, then hidden Dense layers (``model=cnn``).

Per block: ``convs`` x :func:`~dltool.models.layers.weighted_layer` (Conv2D, batch norm if asked, activation),
then MaxPooling2D / AveragePooling2D(pool) when ``pool`` > 0; after the flatten, the MLP's hidden layers.
``model=cnn`` is the seeds' MNIST table, ``model=cnn_cifar`` the TensorFlow CNN tutorial's network (their
parameter counts: tests/test_models.py).

Example:
    dltool train model=cnn data=mnist
"""

from __future__ import annotations

from typing import Any

import keras

from dltool.config.model import CNNConfig
from dltool.config.regularization import RegularizationConfig
from dltool.models.layers import check_fits, dense_stack, require_image, weighted_layer


def build_cnn(cfg: CNNConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """The conv blocks and hidden Dense layers of a CNN on image ``inputs`` (height, width, channels)."""
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
