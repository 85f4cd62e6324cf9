"""ImageNet ResNets of He et al. 2016: 18/34 (basic blocks) and 50/101/152 (bottleneck blocks), v1
(post-activation, "Deep Residual Learning") and v2 (pre-activation, "Identity Mappings in Deep
Residual Networks") (``model=resnet model.variant=imagenet``, or ``auto`` at these depths).

Stem: 7x7/2 convolution (``width`` filters), 3x3/2 max-pooling; 4 stages of ``width * 2**s``
filters (bottleneck blocks output 4x that), stride 2 at the first block of stages 2-4, projection
shortcuts (1x1 conv) where the shape changes; global average pooling. v1 blocks are conv-BN-ReLU
with the ReLU after the addition; v2 blocks start with BN-ReLU, and a last BN-ReLU follows the stages.

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
    dltool show model=resnet model.depth=50 data=synthetic data.input_shape=[224,224,3] data.num_classes=1000
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dltool.config.regularization import RegularizationConfig
from dltool.errors import ConfigError

if TYPE_CHECKING:
    from dltool.models.resnet import ResNetConfig

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
