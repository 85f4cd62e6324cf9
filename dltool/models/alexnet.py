"""AlexNet (Krizhevsky, Sutskever and Hinton 2012) as in the seeds' table (``model=alexnet``).

C1 conv 96 11x11/4 -> max-pool -> C3 conv 256 5x5 -> max-pool -> C5, C6 conv 384 3x3 -> C7 conv 256 3x3 ->
[max-pool] -> F8, F9 Dense 4096 with dropout; ReLU, 3x3/2 poolings. ``width`` scales every layer (e.g. 0.25 for
small images on a CPU). The paper's local response normalization (no parameters) is left out, as in most
re-implementations. ``final_pool: true`` (the paper's pooling after C7) gives its "60 million" parameters; the
seeds' table goes from C7 straight to F8, which ``final_pool: false`` builds (both counts: tests/test_model_zoo.py).

Example:
    dltool show model=alexnet data=synthetic data.input_shape=[224,224,3] data.num_classes=1000
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import ImageModelConfig
from dltool.config.registry import option
from dltool.config.regularization import RegularizationConfig


@option("model")
@dataclass
class AlexNetConfig(ImageModelConfig):
    """AlexNet as in the seeds' table: C1 96 11x11/4, max-pool, C3 256 5x5, max-pool, C5/C6 384 3x3, C7 256 3x3,
    max-pool, F8/F9 Dense 4096 with dropout, output layer. 62,378,344 parameters at 224x224x3, 1000 classes.

    Example:
        dltool train model=alexnet data=cifar10 model.width=0.25
    """

    builder: ClassVar[str] = "dltool.models.alexnet:build_alexnet"
    name: str = "alexnet"
    width: float = opt(1.0, "multiplier of every layer's filters and units (1: the paper)", gt=0.0)
    final_pool: bool = opt(True, "max-pool 3x3/2 after C7, as the paper (the seeds' table omits it)")
    dropout: float = opt(0.5, "dropout before F8 and F9", ge=0.0, lt=1.0)


# (name, filters, kernel, stride, max-pool 3x3/2 after it)
_CONVS = (("c1", 96, 11, 4, True), ("c3", 256, 5, 1, True), ("c5", 384, 3, 1, False), ("c6", 384, 3, 1, False))


def build_alexnet(cfg: AlexNetConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """C1 to F9 of AlexNet on image ``inputs``."""
    import keras

    from dltool.models.layers import check_fits, kernel_regularizer, require_image

    example_shape = require_image(inputs, "alexnet")
    penalty = kernel_regularizer(reg)

    def scaled(n: int) -> int:
        return max(1, round(n * cfg.width))

    x = inputs
    layers = (*_CONVS, ("c7", 256, 3, 1, cfg.final_pool))
    for name, filters, kernel, stride, pool in layers:
        x = keras.layers.Conv2D(
            scaled(filters),
            kernel,
            strides=stride,
            padding="same",
            activation="relu",
            kernel_regularizer=penalty,
            name=name,
        )(x)
        if pool:
            check_fits(x, 3, f"model=alexnet pooling after {name.upper()}", "a 3x3 max-pooling", example_shape)
            x = keras.layers.MaxPooling2D(3, strides=2, name=f"{name}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for name in ("f8", "f9"):
        if cfg.dropout:
            x = keras.layers.Dropout(cfg.dropout, name=f"{name}_dropout")(x)
        x = keras.layers.Dense(scaled(4096), activation="relu", kernel_regularizer=penalty, name=name)(x)
    return x
