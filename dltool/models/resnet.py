"""ResNets of He et al. 2016 (``model=resnet``): the CIFAR family of "Deep Residual Learning for Image
Recognition", §4.2, and the ImageNet one, v1 and v2.

``model.variant=auto`` takes imagenet at depths 18/34/50/101/152, so a CIFAR ResNet-50 (6*8+2) needs
``model.variant=cifar``.

CIFAR, depth 6n+2: a 3x3 stem, 3 stages of n basic blocks, global average pooling. Where the shape changes, the
shortcut is "A" (subsample by 2 and zero-pad the channels: no parameters, the paper's CIFAR choice) or "B" (a
1x1 convolution of stride 2 + BN). The paper's 0.27M ... 1.7M are option A's trainable counts (without the
batch-norm moving statistics, which Keras' ``count_params`` includes); tests/test_models.py has both options'
counts at each depth.

ImageNet: 18/34 (basic blocks) and 50/101/152 (bottleneck blocks), v1 (post-activation, "Deep Residual
Learning") and v2 (pre-activation, "Identity Mappings in Deep Residual Networks"); projection shortcuts (1x1
conv) where the shape changes.

Biases (``model.use_bias``): true follows Keras Applications, whose v1 convolutions all have a bias
and whose v2 convolutions have one where no batch norm follows (stem, last 1x1, shortcuts); false
drops them all, as torchvision. Parameter counts at 224x224x3, 1000 classes (all exact, tested;
"total" includes the batch-norm moving statistics as Keras counts them, torchvision counts only
the trainable ones):

=========  ==========  ============  ============  ====================================
depth      use_bias    trainable     total         reference
=========  ==========  ============  ============  ====================================
18 v1      false       11,689,512    11,699,112    torchvision resnet18 (trainable)
34 v1      false       21,797,672    21,814,696    torchvision resnet34 (trainable)
50 v1      false       25,557,032    25,610,152    torchvision resnet50 (trainable)
50 v1      true                      25,636,712    Keras ResNet50
101 v1     true                      44,707,176    Keras ResNet101
152 v1     true                      60,419,944    Keras ResNet152
50 v2      true                      25,613,800    Keras ResNet50V2
101 v2     true                      44,675,560    Keras ResNet101V2
152 v2     true                      60,380,648    Keras ResNet152V2
=========  ==========  ============  ============  ====================================

Keras' v2 puts the stride of a stage at its last block (and a 1x1 max-pooling on that shortcut),
this module at its first block, as the paper; the parameters are the same.

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


# ----------------------------------------------------------------------- ImageNet ResNets
#: Blocks per stage, and whether the blocks are bottlenecks, per depth.
IMAGENET_STAGES: dict[int, tuple[tuple[int, ...], bool]] = {
    18: ((2, 2, 2, 2), False),
    34: ((3, 4, 6, 3), False),
    50: ((3, 4, 6, 3), True),
    101: ((3, 4, 23, 3), True),
    152: ((3, 8, 36, 3), True),
}
_BN_EPSILON = 1.001e-5  # Keras Applications' value


def build_imagenet_resnet(cfg: ResNetConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """Stem, four stages of residual blocks and global average pooling on image ``inputs``."""
    import keras

    from dltool.models.layers import FusedBatchNormalization, activation_layer, kernel_regularizer

    if cfg.depth not in IMAGENET_STAGES:
        raise ConfigError(
            f"model.depth={cfg.depth}: an imagenet ResNet has depth 18, 34, 50, 101 or 152 "
            "(use model.variant=cifar for 6n+2 depths)"
        )
    stages, bottleneck = IMAGENET_STAGES[cfg.depth]
    width = cfg.width or 64
    penalty = kernel_regularizer(reg)
    pre = cfg.version == 2

    def conv(x: Any, filters: int, kernel: int, stride: int, name: str, bn_follows: bool) -> Any:
        # v2 (Keras) keeps a bias only where no batch norm follows; v1 (Keras) everywhere
        bias = cfg.use_bias and (not pre or not bn_follows)
        return keras.layers.Conv2D(
            filters,
            kernel,
            strides=stride,
            padding="same",
            use_bias=bias,
            kernel_initializer="he_normal",
            kernel_regularizer=penalty,
            name=name,
        )(x)

    def bn_relu(x: Any, name: str, relu: bool = True) -> Any:
        x = FusedBatchNormalization(epsilon=_BN_EPSILON, name=f"{name}_bn")(x)
        return activation_layer("relu", layer_name=f"{name}_relu")(x) if relu else x

    def block(x: Any, filters: int, stride: int, name: str) -> Any:
        out_filters = filters * 4 if bottleneck else filters
        project = stride != 1 or x.shape[-1] != out_filters
        if pre:
            x = bn_relu(x, f"{name}_preact")
        shortcut = conv(x, out_filters, 1, stride, f"{name}_shortcut", not pre) if project else x
        if project and not pre:
            shortcut = bn_relu(shortcut, f"{name}_shortcut", relu=False)
        kernels = [(1, filters, stride), (3, filters, 1), (1, out_filters, 1)]
        if not bottleneck:
            kernels = [(3, filters, stride), (3, filters, 1)]
        y = x
        for i, (kernel, n, s) in enumerate(kernels, start=1):
            last = i == len(kernels)
            y = conv(y, n, kernel, s, f"{name}_conv{i}", bn_follows=not (pre and last))
            if not last:
                y = bn_relu(y, f"{name}_conv{i}")
            elif not pre:
                y = bn_relu(y, f"{name}_conv{i}", relu=False)
        x = keras.layers.Add(name=f"{name}_add")([shortcut, y])
        return x if pre else activation_layer("relu", layer_name=f"{name}_out")(x)

    x = conv(inputs, width, 7, 2, "stem_conv", bn_follows=not pre)
    if not pre:
        x = bn_relu(x, "stem_conv")
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for s, blocks in enumerate(stages):
        for b in range(blocks):
            x = block(x, width * 2**s, 2 if s > 0 and b == 0 else 1, f"stage{s + 1}_block{b + 1}")
    if pre:
        x = bn_relu(x, "post")
    return keras.layers.GlobalAveragePooling2D(name="pool")(x)
