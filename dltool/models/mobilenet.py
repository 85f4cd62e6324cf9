"""MobileNetV2 (Sandler et al. 2018), as Keras Applications builds it (``model=mobilenet_v2``).

3x3/2 conv, 17 inverted residual blocks (1x1 expansion by t, 3x3 depthwise conv, linear 1x1 projection;
identity shortcut where stride 1 and the channels match; ReLU6), 1x1 conv of 1280 filters (more when alpha > 1),
global average pooling. Filters are ``alpha`` times the paper's, rounded to multiples of 8.

Example:
    dltool train model=mobilenet_v2 data=cifar10 model.alpha=0.5
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
class MobileNetV2Config(ImageModelConfig):
    """MobileNetV2 (Sandler et al. 2018), as Keras Applications: inverted residual blocks with linear
    bottlenecks and depthwise convolutions; 3,538,984 parameters at 224x224x3, 1000 classes.

    Example:
        dltool train model=mobilenet_v2 data=cifar10 model.alpha=0.5
    """

    builder: ClassVar[str] = "dltool.models.mobilenet:build_mobilenet_v2"
    name: str = "mobilenet_v2"
    alpha: float = opt(1.0, "width multiplier (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)", gt=0.0)
    dropout: float = opt(0.0, "dropout after the global average pooling", ge=0.0, lt=1.0)


# (expansion t, output channels c, repeats n, first stride s): Table 2 of the paper
_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
_BN_EPSILON = 1e-3


def make_divisible(value: float, divisor: int = 8) -> int:
    """``value`` rounded to the nearest multiple of ``divisor``, never below 90% of it (the paper's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def build_mobilenet_v2(cfg: MobileNetV2Config, inputs: Any, reg: RegularizationConfig) -> Any:
    """The convolutional body of MobileNetV2 on image ``inputs``; returns the pooled features."""
    import keras

    from dltool.models.layers import conv_bn, require_image

    require_image(inputs, "mobilenet_v2")
    x = conv_bn(inputs, make_divisible(32 * cfg.alpha), 3, "stem_conv", stride=2, activation="relu6", reg=reg)
    index = 0
    for t, c, n, s in _BLOCKS:
        for i in range(n):
            x = inverted_residual(x, make_divisible(c * cfg.alpha), t, s if i == 0 else 1, f"block{index}", reg)
            index += 1
    last = make_divisible(1280 * cfg.alpha) if cfg.alpha > 1.0 else 1280
    x = conv_bn(x, last, 1, "top_conv", activation="relu6", reg=reg)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if cfg.dropout:
        x = keras.layers.Dropout(cfg.dropout, name="dropout")(x)
    return x


def inverted_residual(x: Any, filters: int, expansion: int, stride: int, name: str, reg: Any) -> Any:
    """Expansion 1x1 (skipped when ``expansion`` is 1) -> depthwise 3x3 -> linear projection 1x1 [+ input]."""
    import keras

    from dltool.models.layers import FusedBatchNormalization, conv_bn

    channels = x.shape[-1]
    y = x
    if expansion != 1:
        y = conv_bn(y, expansion * channels, 1, f"{name}_expand", activation="relu6", reg=reg)
    y = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_depthwise")(y)
    y = FusedBatchNormalization(epsilon=_BN_EPSILON, name=f"{name}_depthwise_bn")(y)
    y = keras.layers.Activation("relu6", name=f"{name}_depthwise_relu6")(y)
    y = conv_bn(y, filters, 1, f"{name}_project", activation=None, reg=reg)
    if stride == 1 and channels == filters:
        y = keras.layers.Add(name=f"{name}_add")([x, y])
    return y
