"""GoogLeNet-style network of inception modules (Szegedy et al. 2015) (``model=inception``).

Each module concatenates four branches, as in the seeds' (``000``) example: (a) 1x1 conv; (b) 1x1 -> 3x3 conv;
(c) 3x3 pooling (stride 1) -> 1x1 conv; (d) 1x1 -> 3x3 -> 3x3 conv (two 3x3 in place of GoogLeNet's 5x5, the
factorization of Inception v2/v3 the seeds use). ``pool_before`` puts a 3x3/2 max-pooling before a module, the
reductions of GoogLeNet.

``conf/model/inception.yaml`` has GoogLeNet's modules 3a-5b and widths (no auxiliary
classifiers): 7,284,232 parameters at 224x224x3, 1000 classes. GoogLeNet's table sums to about
6.8M: its branch d is one 5x5 conv (25 x d_reduce x d weights) where the seeds' two 3x3 have
9 x d_reduce x d + 9 x d x d, and its pooling branch is a max-pooling; there is no published
figure for this factorized variant, so the test checks the count by hand for one module.

Example:
    dltool train model=inception data=cifar10 model.stem_filters=[32,64]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import ImageModelConfig
from dltool.config.registry import option
from dltool.config.regularization import RegularizationConfig


@dataclass
class InceptionModuleConfig:
    a: int = opt(64, "branch a: 1x1 filters", gt=0)
    b_reduce: int = opt(96, "branch b: 1x1 filters before its 3x3", gt=0)
    b: int = opt(128, "branch b: 3x3 filters", gt=0)
    c: int = opt(32, "branch c: filters of the conv after the 3x3 pooling", gt=0)
    d_reduce: int = opt(16, "branch d: 1x1 filters before its two 3x3", gt=0)
    d: int = opt(32, "branch d: filters of its two 3x3", gt=0)
    pool_before: bool = opt(False, "max-pool 3x3/2 before this module")


@option("model")
@dataclass
class InceptionConfig(ImageModelConfig):
    builder: ClassVar[str] = "dltool.models.inception:build_inception"
    name: str = "inception"
    stem_filters: list[int] = opt([64, 192], "[f, g]: 7x7/2 conv f, max-pool, 1x1 conv f, 3x3 conv g, max-pool")
    modules: list[InceptionModuleConfig] = opt([InceptionModuleConfig()], "inception modules, in order")
    c_pool: str = opt("average", "pooling of branch c", choices=("max", "average"))
    dropout: float = opt(0.4, "dropout after the global average pooling", ge=0.0, lt=1.0)


def build_inception(cfg: InceptionConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """The stem and inception modules on image ``inputs``; returns the pooled features."""
    import keras

    from dltool.models.layers import FusedBatchNormalization, kernel_regularizer, require_image

    require_image(inputs, "inception")
    penalty = kernel_regularizer(reg)

    def conv(x: Any, filters: int, kernel: int, name: str, stride: int = 1) -> Any:
        x = keras.layers.Conv2D(
            filters,
            kernel,
            strides=stride,
            padding="same",
            use_bias=not reg.batch_norm,
            kernel_initializer="he_normal",
            kernel_regularizer=penalty,
            name=name,
        )(x)
        if reg.batch_norm:
            x = FusedBatchNormalization(name=f"{name}_bn")(x)
        return keras.layers.Activation("relu", name=f"{name}_relu")(x)

    def max_pool(x: Any, name: str) -> Any:
        return keras.layers.MaxPooling2D(3, strides=2, padding="same", name=name)(x)

    first, second = cfg.stem_filters
    x = max_pool(conv(inputs, first, 7, "stem_conv1", stride=2), "stem_pool1")
    x = conv(conv(x, first, 1, "stem_conv2"), second, 3, "stem_conv3")
    x = max_pool(x, "stem_pool2")
    for m, module in enumerate(cfg.modules, start=1):
        if module.pool_before:
            x = max_pool(x, f"inception{m}_pool_before")
        x = inception_module(x, module, cfg.c_pool, f"inception{m}", conv)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if cfg.dropout:
        x = keras.layers.Dropout(cfg.dropout, name="dropout")(x)
    return x


def inception_module(x: Any, m: InceptionModuleConfig, c_pool: str, name: str, conv: Any) -> Any:
    """The four branches of one module, concatenated; ``conv(x, filters, kernel, name)`` builds a convolution."""
    import keras

    a = conv(x, m.a, 1, f"{name}_a_1x1")
    b = conv(conv(x, m.b_reduce, 1, f"{name}_b_1x1"), m.b, 3, f"{name}_b_3x3")
    pooling = keras.layers.AveragePooling2D if c_pool == "average" else keras.layers.MaxPooling2D
    c = conv(pooling(3, strides=1, padding="same", name=f"{name}_c_pool")(x), m.c, 1, f"{name}_c_1x1")
    d = conv(x, m.d_reduce, 1, f"{name}_d_1x1")
    d = conv(conv(d, m.d, 3, f"{name}_d_3x3a"), m.d, 3, f"{name}_d_3x3b")
    return keras.layers.Concatenate(name=f"{name}_concat")([a, b, c, d])
