"""Schemas of the ``regularization`` group: weight penalties, dropout, batch norm, label smoothing, augmentation."""

from __future__ import annotations

from dataclasses import dataclass

from dltool.config.fields import opt

FILL_MODES = ("nearest", "reflect", "wrap", "constant")


@dataclass
class AugmentationConfig:
    """Image augmentation (dltool/models/augment.py); every transform is off at 0/false."""

    horizontal_flip: bool = opt(False, "random left-right flips (images only)")
    vertical_flip: bool = opt(False, "random up-down flips (images only)")
    translation: float = opt(0.0, "random shift, as a fraction of height and width", ge=0.0, lt=1.0)
    width_shift: float = opt(
        0.0, "random horizontal shift, fraction of the width (replaces translation)", ge=0.0, lt=1.0
    )
    height_shift: float = opt(
        0.0, "random vertical shift, fraction of the height (replaces translation)", ge=0.0, lt=1.0
    )
    rotation: float = opt(0.0, "random rotation in [-r, r] degrees", ge=0.0, le=180.0)
    shear: float = opt(0.0, "random shear along both axes, up to this fraction of the image", ge=0.0, le=1.0)
    zoom: float = opt(0.0, "random zoom in or out by up to this fraction", ge=0.0, lt=1.0)
    brightness: float = opt(0.0, "random brightness shift, up to this fraction of the [0, 1] range", ge=0.0, le=1.0)
    contrast: float = opt(0.0, "random contrast factor in [1 - c, 1 + c]", ge=0.0, le=1.0)
    fill_mode: str = opt("nearest", "points outside the image (rotation, shear, zoom, shift)", choices=FILL_MODES)
    crop_padding: int = opt(0, "random crop of the image zero-padded by this many pixels (CIFAR: 4)", ge=0)
    mixup: float = opt(0.0, "MixUp's alpha: mix pairs of images and labels (0: off)", ge=0.0)
    cutmix: float = opt(0.0, "CutMix's factor: paste patches between images, mix labels (0: off)", ge=0.0)


@dataclass
class RegularizationConfig:
    l1: float = opt(0.0, "L1 penalty on the kernels of Dense/Conv layers", ge=0.0)
    l2: float = opt(0.0, "L2 penalty on the kernels of Dense/Conv layers", ge=0.0)
    dropout: float = opt(0.0, "dropout rate after hidden Dense layers", ge=0.0, lt=1.0)
    dropout_type: str = opt(
        "standard", "alpha: AlphaDropout, which keeps SELU's self-normalization", choices=("standard", "alpha")
    )
    batch_norm: bool = opt(False, "batch normalization before each hidden activation (mlp, cnn)")
    label_smoothing: float = opt(0.0, "label smoothing of classification losses", ge=0.0, lt=1.0)
    augmentation: AugmentationConfig = opt(AugmentationConfig(), "image augmentation, active in training only")
