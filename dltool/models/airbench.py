"""The airbench94 network of Keller Jordan's fast CIFAR-10 recipe, in Keras (``model=airbench``).

A 2x2 convolution stem (24 filters, no padding) and GELU, then three conv groups of widths
64/256/256, each conv3x3 -> max-pool 2 -> batch norm -> GELU -> conv3x3 -> batch norm -> GELU,
then a global max-pool; the features are scaled by ``logit_scale`` (1/9 in airbench) before the
output layer that ``build_model`` adds. Convolutions have no bias; batch norm has no scale
(airbench freezes it at 1) and a fast momentum (0.6 in PyTorch's convention is 0.4 in Keras').

The stem is not initialized by whitening patches of the training images (Keras builds the model from the
data's shape alone) and the head has a bias; the rest of the recipe is ``experiment=cifar10_fast``
(docs/models.md).

Example:
    >>> from dltool.models.airbench import AirbenchConfig
    >>> from dltool.config.regularization import RegularizationConfig
    >>> from dltool.data import DataSpec
    >>> from dltool.models import build_model
    >>> build_model(AirbenchConfig(), DataSpec((32, 32, 3), "multiclass", 10), RegularizationConfig()).count_params()
    1973954
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
class AirbenchConfig(ImageModelConfig):
    builder: ClassVar[str] = "dltool.models.airbench:build_airbench"
    name: str = "airbench"
    widths: list[int] = opt([64, 256, 256], "filters of the conv groups (airbench: three)")
    stem_filters: int = opt(24, "filters of the 2x2 stem convolution", gt=0)
    activation: str = opt("gelu", "activation after the stem and each batch norm", choices=ACTIVATIONS)
    bn_momentum: float = opt(0.4, "batch-norm momentum (Keras: weight of the past)", ge=0.0, lt=1.0)
    bn_epsilon: float = opt(1e-12, "batch-norm epsilon (airbench: 1e-12)", gt=0.0)
    logit_scale: float = opt(1 / 9, "factor on the pooled features before the output layer", gt=0.0)


def build_airbench(cfg: AirbenchConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """The airbench body on image ``inputs``; returns the scaled, pooled features."""
    import keras

    from dltool.models.layers import FusedBatchNormalization, activation_layer, kernel_regularizer, require_image

    require_image(inputs, "airbench")
    penalty = kernel_regularizer(reg)

    def conv(x: Any, filters: int, kernel: int, name: str, **kwargs: Any) -> Any:
        return keras.layers.Conv2D(
            filters, kernel, kernel_regularizer=penalty, kernel_initializer="he_normal", name=name, **kwargs
        )(x)

    def norm_act(x: Any, name: str) -> Any:
        x = FusedBatchNormalization(momentum=cfg.bn_momentum, epsilon=cfg.bn_epsilon, scale=False, name=f"{name}_bn")(x)
        return activation_layer(cfg.activation, layer_name=f"{name}_act")(x)

    x = conv(inputs, cfg.stem_filters, 2, "stem", padding="valid")
    x = activation_layer(cfg.activation, layer_name="stem_act")(x)
    for g, width in enumerate(cfg.widths, start=1):
        x = conv(x, width, 3, f"group{g}_conv1", padding="same", use_bias=False)
        x = keras.layers.MaxPooling2D(2, name=f"group{g}_pool")(x)
        x = norm_act(x, f"group{g}_1")
        x = conv(x, width, 3, f"group{g}_conv2", padding="same", use_bias=False)
        x = norm_act(x, f"group{g}_2")
    x = keras.layers.GlobalMaxPooling2D(name="pool")(x)
    return keras.layers.Rescaling(cfg.logit_scale, name="logit_scale")(x)
