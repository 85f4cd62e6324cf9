"""``model=transfer``: a ``keras.applications`` backbone with a new head (docs/models.md, "Transfer learning").

Resize, :class:`~dltool.models.layers.ChannelAffine` (the backbone's ``preprocess_input`` as the per-pixel affine
map it is: a registered layer loads in safe mode, a ``Lambda`` would not), the backbone, pooling into ``features``,
and the head of :func:`dltool.models.build_model`. The backbone's BatchNormalization layers stay frozen whatever
``freeze`` says: in Keras 3.15 ``fit`` does not keep a ``training=False`` given to a nested model of a functional
graph (the moving means still move), while a frozen BatchNormalization always runs in inference mode.

Example:
    >>> from dltool.models.transfer import TransferConfig
    >>> from dltool.config.regularization import RegularizationConfig
    >>> from dltool.data import DataSpec
    >>> cfg = TransferConfig(backbone="MobileNetV2", weights=None, backbone_args={"alpha": 0.35}, input_size=32)
    >>> model = build_model(cfg, DataSpec((8, 8, 1), "multiclass", 10), RegularizationConfig())  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import DenseStackConfig, ImageModelConfig
from dltool.config.registry import option
from dltool.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    import keras

    from dltool.models.layers import ChannelAffine


@dataclass
class FineTuneConfig:
    head_epochs: int = opt(
        0, "phase 1: epochs of the head with the backbone frozen as `freeze` says (0: one phase)", ge=0
    )
    unfreeze_top: int = opt(0, "phase 2: the backbone's top N layers trainable (0: all of them)", ge=0)
    learning_rate: float = opt(1e-4, "phase 2: learning rate of the rebuilt optimizer", gt=0.0)


@option("model")
@dataclass
class TransferConfig(DenseStackConfig, ImageModelConfig):
    builder: ClassVar[str] = "dltool.models.transfer:build_transfer"
    name: str = "transfer"
    backbone: str = opt("MobileNetV2", "keras.applications model: ResNet50, InceptionV3, VGG16, MobileNetV2, ...")
    weights: str | None = opt("imagenet", "imagenet | null (random) | path of the backbone's weights file (no top)")
    backbone_args: dict[str, Any] = opt({}, "other arguments of the backbone's constructor, e.g. {alpha: 0.35}")
    input_size: int | None = opt(None, "side the images are resized to (null: the backbone's default)", gt=0)
    pooling: str = opt("avg", "global pooling of the backbone's features", choices=("avg", "max"))
    dense_units: list[int] = opt([], "hidden Dense layers of the new head")
    dropout: float = opt(0.0, "dropout before the output layer", ge=0.0, lt=1.0)
    freeze: str = opt("all", "all | none | N: the backbone's first N layers frozen")
    feature_extraction: bool = opt(False, "run the frozen backbone once, cache its features, train the head on them")
    fine_tune: FineTuneConfig = opt(FineTuneConfig(), "two-phase fine-tuning")


#: Input sides of the backbones whose default is not 224 (Keras Applications' documentation).
DEFAULT_SIZES = {
    "InceptionV3": 299,
    "InceptionResNetV2": 299,
    "Xception": 299,
    "NASNetLarge": 331,
    "EfficientNetB1": 240,
    "EfficientNetB2": 260,
    "EfficientNetB3": 300,
    "EfficientNetB4": 380,
    "EfficientNetB5": 456,
    "EfficientNetB6": 528,
    "EfficientNetB7": 600,
    "EfficientNetV2B1": 240,
    "EfficientNetV2B2": 260,
    "EfficientNetV2B3": 300,
    "EfficientNetV2S": 384,
    "EfficientNetV2M": 480,
    "EfficientNetV2L": 480,
}


def application(name: str) -> Any:
    """The ``keras.applications`` constructor named ``name``; ConfigError with a suggestion otherwise."""
    import keras

    names = sorted(n for n in dir(keras.applications) if n[:1].isupper())
    if name not in names:
        raise ConfigError(
            f"model.backbone={name}: not a keras.applications model{did_you_mean(name, names)}; "
            f"valid: {', '.join(names)}"
        )
    return getattr(keras.applications, name)


def preprocessing(constructor: Any, channels: int) -> ChannelAffine | None:
    """The backbone's ``preprocess_input`` for inputs in [0, 1] with ``channels`` channels, as a
    :class:`~dltool.models.layers.ChannelAffine` (None for a backbone module without one); an identity
    ``preprocess_input`` (EfficientNet, ConvNeXt preprocess inside) gives only the scaling to [0, 255].

    Its matrix and bias are read from its values at 0 and at each unit vector, and checked on a random pixel.
    """
    import numpy as np

    from dltool.models.layers import ChannelAffine

    preprocess = getattr(sys.modules[constructor.__module__], "preprocess_input", None)
    if preprocess is None:
        return None

    def apply(rgb: Any) -> Any:
        return np.asarray(preprocess(rgb.astype("float32").reshape(-1, 1, 1, 3).copy())).reshape(-1, 3)

    bias = apply(np.zeros(3))[0]
    rgb_matrix = apply(np.eye(3)) - bias  # row i: the output of the unit pixel on channel i
    probe = np.random.default_rng(0).uniform(0, 255, 3)
    if not np.allclose(apply(probe)[0], probe @ rgb_matrix + bias, atol=1e-3):
        raise ConfigError(f"model.backbone: the preprocess_input of {constructor.__name__} is not affine per pixel")
    if channels == 1:
        rgb_matrix = rgb_matrix.sum(axis=0, keepdims=True)  # the grey channel feeds R, G and B
    elif channels != 3:
        raise ConfigError(f"model=transfer needs images with 1 or 3 channels; the data gives {channels}")
    matrix = 255.0 * rgb_matrix  # dltool's images are in [0, 1], preprocess_input expects [0, 255]
    return ChannelAffine(matrix.tolist(), bias.tolist(), name="preprocess")


def backbone_weights(cfg: Any) -> str | None:
    """``cfg.weights`` checked: None, ``imagenet`` or an existing file."""
    weights = cfg.weights
    if weights in (None, "imagenet"):
        return weights
    path = Path(weights).expanduser()
    if not path.is_file():
        raise ConfigError(f"model.weights={weights}: no such file (imagenet, null, or a weights file of the backbone)")
    return str(path)


def build_backbone(cfg: Any, size: int) -> keras.Model:
    """The backbone without its top, for ``size`` x ``size`` x 3 inputs, named ``backbone``; offline, ``weights:
    imagenet`` is a one-line ConfigError naming the file to place in Keras' cache."""
    constructor = application(cfg.backbone)
    weights = backbone_weights(cfg)
    try:
        backbone = constructor(
            include_top=False, weights=weights, input_shape=(size, size, 3), name="backbone", **dict(cfg.backbone_args)
        )
    except ValueError as err:  # Keras' own checks: input size, alpha, weights file shapes
        raise ConfigError(f"model.backbone={cfg.backbone}: {str(err).strip().splitlines()[0]}") from None
    except TypeError as err:
        raise ConfigError(f"model.backbone_args: {err}") from None
    except Exception as err:  # keras.utils.get_file raises a bare Exception when the download fails
        url = re.search(r"https?://\S+?\.h5", str(err))
        if weights != "imagenet" or url is None:
            raise
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
        raise ConfigError(
            f"model.weights=imagenet: cannot download {url.group(0)} (offline?); place that file as "
            f"{cache / url.group(0).rsplit('/', 1)[1]}, or set model.weights to a local weights file"
        ) from None
    return backbone


def apply_freeze(backbone: keras.Model, freeze: str | int) -> None:
    """``all``: the whole backbone frozen; ``none``: all trainable; N: its first N layers frozen.
    BatchNormalization layers stay frozen (inference mode) in every case."""
    text = str(freeze)
    if text == "all":
        backbone.trainable = False
        return
    if text != "none" and not text.isdigit():
        raise ConfigError(f"model.freeze={text}: must be all, none or a number of layers")
    first = 0 if text == "none" else int(text)
    set_trainable(backbone, [i >= first for i in range(len(backbone.layers))])


def unfreeze_top(backbone: keras.Model, top: int) -> None:
    """Phase 2 of fine-tuning: the backbone's top ``top`` layers trainable (0: all), the others
    and every BatchNormalization layer frozen."""
    count = len(backbone.layers)
    set_trainable(backbone, [top == 0 or i >= count - top for i in range(count)])


def set_trainable(backbone: keras.Model, trainable: list[bool]) -> None:
    """Layer i of ``backbone`` trainable when ``trainable[i]``, except BatchNormalization layers."""
    import keras

    backbone.trainable = True
    for layer, wanted in zip(backbone.layers, trainable, strict=True):
        layer.trainable = wanted and not isinstance(layer, keras.layers.BatchNormalization)


def build_transfer(cfg: Any, inputs: Any, reg: Any) -> Any:
    """Body of ``model=transfer``: resize, preprocess, frozen-as-configured backbone, pooling
    (layer ``features``), the head's hidden Dense layers and dropout."""
    import keras

    from dltool.models.layers import dense_stack, require_image

    example_shape = require_image(inputs, "transfer")
    size = cfg.input_size or DEFAULT_SIZES.get(cfg.backbone, 224)
    x = inputs
    if tuple(example_shape[:2]) != (size, size):
        x = keras.layers.Resizing(size, size, name="resize")(x)
    affine = preprocessing(application(cfg.backbone), example_shape[2])
    if affine is not None:
        x = affine(x)
    backbone = build_backbone(cfg, size)
    apply_freeze(backbone, cfg.freeze)
    x = backbone(x)
    pool = keras.layers.GlobalAveragePooling2D if cfg.pooling == "avg" else keras.layers.GlobalMaxPooling2D
    x = pool(name="features")(x)
    x = dense_stack(x, list(cfg.dense_units), cfg, reg, prefix="head")
    return keras.layers.Dropout(cfg.dropout, name="head_dropout")(x) if cfg.dropout else x
