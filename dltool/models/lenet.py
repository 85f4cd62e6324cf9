"""LeNet-5 (LeCun et al. 1998) as in the seeds' table (``model=lenet5``).

C1 conv 6 5x5 -> S2 pooling 2x2/2 -> C3 conv 16 5x5 -> S4 pooling 2x2/2 -> C5 conv 120 5x5 ->
F6 Dense 84, all tanh, then the output layer. The table's input is 32x32 and C1 is a 'valid'
convolution giving 28x28; ``c1_padding: auto`` pads C1 ('same') only on 28x28 inputs, so that
MNIST digits play the role of the table's padded 32x32 images (C1 gives 28x28 either way).

Parameters on 32x32x1 (or 28x28x1), 10 classes: C1 156, C3 2,416, C5 48,120, F6 10,164,
output 850 = 61,706. The 1998 network has 60,850 (its figure "60,000"): C3 connects each map to
only some of S2's maps (1,516 instead of 2,416), S2/S4 have a trainable coefficient and bias per
map (+12, +32), and its output is 10 RBF units (840, no bias) rather than a Dense softmax layer.

Example:
    dltool train model=lenet5 data=mnist
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import ACTIVATIONS, ImageModelConfig
from dltool.config.registry import option
from dltool.config.regularization import RegularizationConfig


@option("model")
@dataclass
class LeNet5Config(ImageModelConfig):
    """LeNet-5 as in the seeds' table: C1 conv 6 5x5, S2 average-pool, C3 conv 16 5x5, S4 average-pool,
    C5 conv 120 5x5, F6 Dense 84 (tanh), output layer. On 32x32x1 or 28x28x1, 10 classes: 61,706 parameters.

    Example:
        dltool train model=lenet5 data=mnist
    """

    builder: ClassVar[str] = "dltool.models.lenet:build_lenet5"
    note: ClassVar[str | None] = "dltool.models.lenet:lenet5_note"
    name: str = "lenet5"
    activation: str = opt("tanh", "activation of the convolutions and of F6", choices=ACTIVATIONS)
    c1_padding: str = opt(
        "auto",
        "auto: 'same' on 28x28 inputs (MNIST as the table's 32x32), else 'valid'",
        choices=("auto", "same", "valid"),
    )
    pool_type: str = opt("average", "subsampling layers S2 and S4", choices=("max", "average"))


#: The input whose C1 output the table's 32x32 input gives: padded on it, C1 keeps 28x28.
PADDED_INPUT = (28, 28)


def c1_padding(cfg: LeNet5Config, example_shape: tuple) -> str:
    """C1's padding on images of ``example_shape``: ``cfg.c1_padding``, where ``auto`` is 'same' on 28x28
    inputs only and 'valid' (the table) otherwise."""
    if cfg.c1_padding != "auto":
        return cfg.c1_padding
    return "same" if tuple(example_shape[:2]) == PADDED_INPUT else "valid"


def lenet5_note(cfg: LeNet5Config, example_shape: tuple) -> str:
    """One line saying which C1 ``model=lenet5`` builds on ``example_shape`` (printed by ``dltool show``)."""
    padding = c1_padding(cfg, example_shape)
    if cfg.c1_padding != "auto":
        reason = f"model.c1_padding={cfg.c1_padding}"
    elif padding == "same":
        reason = "the 28x28 input stands for the table's padded 32x32 one"
    else:
        reason = "as the table"
    size = "x".join(str(d) for d in example_shape[:2])
    return f"LeNet-5: C1 padding '{padding}' on the {size} input ({reason})"


def build_lenet5(cfg: LeNet5Config, inputs: Any, reg: RegularizationConfig) -> Any:
    """C1 to F6 of LeNet-5 on image ``inputs``."""
    import keras

    from dltool.models.layers import check_fits, kernel_regularizer, require_image

    example_shape = require_image(inputs, "lenet5")
    penalty = kernel_regularizer(reg)
    pooling = keras.layers.AveragePooling2D if cfg.pool_type == "average" else keras.layers.MaxPooling2D
    x = inputs
    for name, filters, padding in (
        ("c1", 6, c1_padding(cfg, example_shape)),
        ("c3", 16, "valid"),
        ("c5", 120, "valid"),
    ):
        if padding == "valid":
            check_fits(x, 5, f"model=lenet5 layer {name.upper()}", "a 'valid' 5x5 convolution", example_shape)
        x = keras.layers.Conv2D(
            filters, 5, padding=padding, activation=cfg.activation, kernel_regularizer=penalty, name=name
        )(x)
        if name != "c5":
            x = pooling(2, name="s2" if name == "c1" else "s4")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.layers.Dense(84, activation=cfg.activation, kernel_regularizer=penalty, name="f6")(x)
