"""CIFAR ResNets of He et al. 2016, "Deep Residual Learning for Image Recognition", §4.2 (``model=resnet``).

``model.variant`` picks this CIFAR family (6n+2) or the ImageNet one (18/34/50/101/152, in
:mod:`dltool.models.resnet_imagenet`); ``auto`` takes imagenet at those five depths (so a CIFAR
ResNet-50, 6*8+2, needs ``model.variant=cifar``). ``model.width`` null means 16 here.

depth = 6n+2: conv3x3(width)-BN-ReLU, then 3 stages of n basic blocks (conv3x3-BN-ReLU-conv3x3-BN + shortcut,
ReLU) of width, 2*width and 4*width filters, stride 2 at the first block of stages 2 and 3; global average
pooling. Shortcuts are the identity except where the shape changes: "A" subsamples by 2 and zero-pads the
channels (no parameters, the paper's CIFAR choice), "B" is a 1x1 convolution of stride 2 + BN. The paper's
0.27M ... 1.7M are option A's trainable counts (without the batch-norm moving statistics, which Keras'
``count_params`` includes); tests/test_models.py has both options' counts at each depth.

Example:
    dltool train model=resnet data=cifar10 model.depth=56
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import ImageModelConfig
from dltool.config.registry import option
from dltool.config.regularization import RegularizationConfig
from dltool.errors import ConfigError
from dltool.models.resnet_imagenet import IMAGENET_STAGES, build_imagenet_resnet


@option("model")
@dataclass
class ResNetConfig(ImageModelConfig):
    """ResNet-20 for CIFAR (He et al. 2016): 3 stages of 3 basic residual blocks, 16/32/64 filters,
    global average pooling, output layer; 0.27M parameters on 32x32x3 with 10 classes. Depths
    18/34/50/101/152 build the ImageNet ResNets (model.version=2: pre-activation).

    Example:
        dltool train model=resnet data=cifar10 model.depth=56
    """

    builder: ClassVar[str] = "dltool.models.resnet:build_resnet"
    name: str = "resnet"
    depth: int = opt(20, "6n+2 layers (20, 32, 44, 56, 110, ...)", ge=8)
    width: int | None = opt(
        None, "filters of the first stage, doubled at each stage (null: 16 cifar, 64 imagenet)", gt=0
    )
    shortcut: str = opt("A", "cifar: A zero-padded identity (the paper's choice), B 1x1 projection", choices=("A", "B"))
    variant: str = opt(
        "auto",
        "cifar (6n+2) | imagenet (18/34/50/101/152) | auto (imagenet for those depths)",
        choices=("auto", "cifar", "imagenet"),
    )
    version: int = opt(1, "imagenet: 1 (post-activation) or 2 (pre-activation, He et al. 2016b)", choices=(1, 2))
    use_bias: bool = opt(True, "imagenet: biases in the convolutions, as Keras Applications (false: torchvision)")


def blocks_per_stage(depth: int) -> int:
    """n of a 6n+2 depth; ConfigError for other depths."""
    if depth < 8 or (depth - 2) % 6:
        raise ConfigError(f"model.depth={depth}: ResNet depth must be 6n+2 (20, 32, 44, 56, 110)")
    return (depth - 2) // 6


def resnet_variant(cfg: ResNetConfig) -> str:
    """``cfg.variant``, or for ``auto`` imagenet at depths 18/34/50/101/152 and cifar otherwise."""
    if cfg.variant != "auto":
        return cfg.variant
    return "imagenet" if cfg.depth in IMAGENET_STAGES else "cifar"


def build_resnet(cfg: ResNetConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """The convolutional body of a ResNet (either variant) on image ``inputs``; returns the pooled features."""
    import keras

    from dltool.models.layers import ZeroPadShortcut, activation_layer, conv_bn, require_image

    require_image(inputs, "resnet")
    if resnet_variant(cfg) == "imagenet":
        return build_imagenet_resnet(cfg, inputs, reg)
    n = blocks_per_stage(cfg.depth)
    width = cfg.width or 16

    def conv(x: Any, filters: int, kernel: int, stride: int, name: str) -> Any:
        return conv_bn(x, filters, kernel, name, stride=stride, activation=None, reg=reg)

    x = conv(inputs, width, 3, 1, "stem_conv")
    x = activation_layer("relu", layer_name="stem_relu")(x)
    for stage in range(3):
        filters = width * 2**stage
        for block in range(n):
            name = f"stage{stage + 1}_block{block + 1}"
            stride = 2 if stage > 0 and block == 0 else 1
            shortcut = x
            if stride != 1 or x.shape[-1] != filters:
                if cfg.shortcut == "A":
                    shortcut = ZeroPadShortcut(filters, stride, name=f"{name}_shortcut")(x)
                else:
                    shortcut = conv(x, filters, 1, stride, f"{name}_shortcut")
            y = conv(x, filters, 3, stride, f"{name}_conv1")
            y = activation_layer("relu", layer_name=f"{name}_relu1")(y)
            y = conv(y, filters, 3, 1, f"{name}_conv2")
            x = keras.layers.Add(name=f"{name}_add")([y, shortcut])
            x = activation_layer("relu", layer_name=f"{name}_relu2")(x)
    return keras.layers.GlobalAveragePooling2D(name="pool")(x)
