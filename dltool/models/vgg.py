"""VGG-11/13/16/19 (Simonyan and Zisserman 2015, configurations A, B, D, E) (``model=vgg``).

Five stages of 3x3 'same' convolutions (ReLU) of ``width``, 2x, 4x, 8x, 8x filters, each ended by a 2x2
max-pooling; then a flatten (or global average pooling with ``top: avg``) and the hidden Dense layers. Batch
norm after each convolution with ``regularization.batch_norm`` (VGG-BN; the convolutions keep their biases,
as torchvision's). Parameter counts: docs/models.md.

Example:
    dltool show model=vgg model.depth=16 data=synthetic data.input_shape=[224,224,3] data.num_classes=1000
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
class VGGConfig(ImageModelConfig):
    """VGG (Simonyan and Zisserman 2015): 5 stages of 3x3 convolutions + max-pooling, Dense 4096 x 2, output layer.
    VGG-16 has 138,357,544 parameters at 224x224x3, 1000 classes (Keras Applications).

    Example:
        dltool train model=vgg model.depth=11 data=cifar10 model.dense_units=[512]
    """

    builder: ClassVar[str] = "dltool.models.vgg:build_vgg"
    name: str = "vgg"
    depth: int = opt(16, "weight layers: 11, 13, 16 or 19", choices=(11, 13, 16, 19))
    width: int = opt(64, "filters of the first stage (doubled per stage, at most 8x)", gt=0)
    dense_units: list[int] = opt([4096, 4096], "hidden Dense layers after the flatten")
    dropout: float = opt(0.0, "dropout after each hidden Dense layer (the paper: 0.5)", ge=0.0, lt=1.0)
    top: str = opt("flatten", "flatten (the paper) or avg (global average pooling)", choices=("flatten", "avg"))


#: Convolutions per stage, per depth.
VGG_STAGES = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


def build_vgg(cfg: VGGConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """The five convolution stages and hidden Dense layers of a VGG on image ``inputs``."""
    import keras

    from dltool.models.layers import FusedBatchNormalization, check_fits, kernel_regularizer, require_image

    example_shape = require_image(inputs, "vgg")
    penalty = kernel_regularizer(reg)
    x = inputs
    for s, convs in enumerate(VGG_STAGES[cfg.depth]):
        filters = cfg.width * min(2**s, 8)
        for c in range(1, convs + 1):
            name = f"block{s + 1}_conv{c}"
            x = keras.layers.Conv2D(filters, 3, padding="same", kernel_regularizer=penalty, name=name)(x)
            if reg.batch_norm:
                x = FusedBatchNormalization(name=f"{name}_bn")(x)
            x = keras.layers.Activation("relu", name=f"{name}_relu")(x)
        check_fits(x, 2, f"model=vgg stage {s + 1}", "a 2x2 max-pooling", example_shape)
        x = keras.layers.MaxPooling2D(2, name=f"block{s + 1}_pool")(x)
    if cfg.top == "flatten":
        x = keras.layers.Flatten(name="flatten")(x)
    else:
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    for i, units in enumerate(cfg.dense_units, start=1):
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=penalty, name=f"fc{i}")(x)
        if cfg.dropout:
            x = keras.layers.Dropout(cfg.dropout, name=f"fc{i}_dropout")(x)
    return x
