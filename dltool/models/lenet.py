"""LeNet-5 (LeCun et al. 1998) as in the seeds' table (``model=lenet5``).

C1 conv 6 5x5 -> S2 pooling 2x2/2 -> C3 conv 16 5x5 -> S4 pooling 2x2/2 -> C5 conv 120 5x5 ->
F6 Dense 84, all tanh, then the output layer. ``c1_padding: same`` lets 28x28 MNIST digits play
the role of the table's 32x32 padded inputs (C1 gives 28x28 either way).

Parameters on 28x28x1, 10 classes: C1 156, C3 2,416, C5 48,120, F6 10,164, output 850 = 61,706.
The 1998 network has 60,850 (its figure "60,000"): C3 connects each map to only some of S2's
maps (1,516 instead of 2,416), S2/S4 have a trainable coefficient and bias per map (+12, +32),
and its output is 10 RBF units (840, no bias) rather than a Dense softmax layer.

Example:
    dltool train model=lenet5 data=mnist
"""

from __future__ import annotations

from typing import Any

import keras

from dltool.config.schemas import LeNet5Config, RegularizationConfig
from dltool.models.layers import check_fits, kernel_regularizer, require_image


def build_lenet5(cfg: LeNet5Config, inputs: Any, reg: RegularizationConfig) -> Any:
    """C1 to F6 of LeNet-5 on image ``inputs``."""
    example_shape = require_image(inputs, "lenet5")
    penalty = kernel_regularizer(reg)
    pooling = keras.layers.AveragePooling2D if cfg.pool_type == "average" else keras.layers.MaxPooling2D
    x = inputs
    for name, filters, padding in (("c1", 6, cfg.c1_padding), ("c3", 16, "valid"), ("c5", 120, "valid")):
        check_fits(x, 5, f"model=lenet5 layer {name.upper()}", "a 'valid' 5x5 convolution", example_shape)
        x = keras.layers.Conv2D(
            filters, 5, padding=padding, activation=cfg.activation, kernel_regularizer=penalty, name=name
        )(x)
        if name != "c5":
            x = pooling(2, name="s2" if name == "c1" else "s4")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.layers.Dense(84, activation=cfg.activation, kernel_regularizer=penalty, name="f6")(x)
