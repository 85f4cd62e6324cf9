"""Depthwise separable convolutions: Xception (Chollet 2017) and the seeds' small separable CNN
(``model=xception``, ``model=separable_cnn``).

Xception is built as Keras Applications builds it (entry, middle and exit flows); inputs of at least 71x71.

The separable CNN is the seeds' example (``000``): blocks of 'valid' SeparableConv2D (ReLU), a
2x2 max-pooling after the first two blocks, global average pooling, Dense 32.

Example:
    dltool train model=separable_cnn data=cifar10 model.padding=same
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import ACTIVATIONS, ConvStackBlockConfig, ImageModelConfig
from dltool.config.registry import option
from dltool.config.regularization import RegularizationConfig


@option("model")
@dataclass
class XceptionConfig(ImageModelConfig):
    """Xception (Chollet 2017), as Keras Applications: depthwise separable convolutions with residual
    connections; 22,910,480 parameters at 224x224x3, 1000 classes. Inputs of at least 71x71.

    Example:
        dltool train model=xception data=synthetic data.input_shape=[96,96,3]
    """

    builder: ClassVar[str] = "dltool.models.xception:build_xception"
    name: str = "xception"
    middle_blocks: int = opt(8, "repeats of the middle-flow block (Chollet 2017: 8)", ge=0)


@option("model")
@dataclass
class SeparableCNNConfig(ImageModelConfig):
    builder: ClassVar[str] = "dltool.models.xception:build_separable_cnn"
    name: str = "separable_cnn"
    activation: str = opt("relu", "activation of every layer", choices=ACTIVATIONS)
    kernel_size: int = opt(3, "kernel size of the separable convolutions", gt=0)
    padding: str = opt("valid", "padding of the separable convolutions", choices=("same", "valid"))
    stack: list[ConvStackBlockConfig] = opt([ConvStackBlockConfig()], "blocks of separable convolutions")
    dense_units: list[int] = opt([32], "hidden Dense layers after the global average pooling")


def build_xception(cfg: XceptionConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """Entry, middle and exit flows of Xception on image ``inputs``; returns the pooled features."""
    import keras

    from dltool.models.layers import FusedBatchNormalization, check_fits, conv_bn, kernel_regularizer, require_image

    example_shape = require_image(inputs, "xception")
    check_fits(inputs, 71, "model=xception", "an input", example_shape)
    penalty = kernel_regularizer(reg)

    def sep_bn(x: Any, filters: int, name: str) -> Any:
        x = keras.layers.SeparableConv2D(
            filters, 3, padding="same", use_bias=False, pointwise_regularizer=penalty, name=name
        )(x)
        return FusedBatchNormalization(name=f"{name}_bn")(x)

    def relu(x: Any, name: str) -> Any:
        return keras.layers.Activation("relu", name=name)(x)

    def reduction_block(x: Any, filters: tuple[int, int], name: str, relu_first: bool) -> Any:
        shortcut = conv_bn(x, filters[1], 1, f"{name}_shortcut", stride=2, activation=None, reg=reg)
        if relu_first:
            x = relu(x, f"{name}_relu1")
        x = relu(sep_bn(x, filters[0], f"{name}_sepconv1"), f"{name}_relu2")
        x = sep_bn(x, filters[1], f"{name}_sepconv2")
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
        return keras.layers.Add(name=f"{name}_add")([x, shortcut])

    x = conv_bn(inputs, 32, 3, "entry_conv1", stride=2, padding="valid", reg=reg)
    x = conv_bn(x, 64, 3, "entry_conv2", padding="valid", reg=reg)
    for i, filters in enumerate((128, 256, 728), start=1):
        x = reduction_block(x, (filters, filters), f"entry_block{i}", relu_first=i > 1)
    for b in range(1, cfg.middle_blocks + 1):
        y = x
        for i in range(1, 4):
            y = sep_bn(relu(y, f"middle{b}_relu{i}"), 728, f"middle{b}_sepconv{i}")
        x = keras.layers.Add(name=f"middle{b}_add")([x, y])
    x = reduction_block(x, (728, 1024), "exit_block1", relu_first=True)
    x = relu(sep_bn(x, 1536, "exit_sepconv1"), "exit_relu1")
    x = relu(sep_bn(x, 2048, "exit_sepconv2"), "exit_relu2")
    return keras.layers.GlobalAveragePooling2D(name="pool")(x)


def build_separable_cnn(cfg: SeparableCNNConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """Blocks of separable convolutions, global average pooling and Dense layers on image ``inputs``."""
    import keras

    from dltool.models.layers import check_fits, kernel_regularizer, require_image

    example_shape = require_image(inputs, "separable_cnn")
    penalty = kernel_regularizer(reg)
    x = inputs
    for b, block in enumerate(cfg.stack, start=1):
        for c, filters in enumerate(block.filters, start=1):
            if cfg.padding == "valid":
                key = f"model.stack[{b - 1}].filters"
                check_fits(x, cfg.kernel_size, key, "a 'valid' separable convolution", example_shape)
            x = keras.layers.SeparableConv2D(
                filters,
                cfg.kernel_size,
                padding=cfg.padding,
                activation=cfg.activation,
                pointwise_regularizer=penalty,
                name=f"block{b}_sepconv{c}",
            )(x)
        if block.pool:
            check_fits(x, block.pool, f"model.stack[{b - 1}].pool={block.pool}", "a pooling", example_shape)
            x = keras.layers.MaxPooling2D(block.pool, name=f"block{b}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    for i, units in enumerate(cfg.dense_units, start=1):
        x = keras.layers.Dense(units, activation=cfg.activation, kernel_regularizer=penalty, name=f"dense{i}")(x)
    return x
