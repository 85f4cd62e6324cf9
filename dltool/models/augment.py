"""Image augmentation of ``regularization.augmentation``: Keras preprocessing layers and batch mixing.

Geometric and colour transforms (the seeds' ``ImageDataGenerator`` list: flips, rotation,
width/height shift, shear, zoom, brightness, contrast, ``fill_mode``; plus random crop of the
zero-padded image) are layers at the front of the model: they run on the accelerator with the
model, are active in ``fit`` only and are the identity at inference (``evaluate``, ``predict``,
exported models). MixUp and CutMix mix pairs of examples *and their labels*, so they cannot be
model layers: :func:`mix_batches` maps them over the training batches (``keras.layers.MixUp``,
``keras.layers.CutMix``), with one-hot labels.

Images are in [0, 1] (every image source scales them so): brightness and contrast use that range.

Example:
    >>> from dltool.config.schemas import AugmentationConfig, RegularizationConfig
    >>> reg = RegularizationConfig(augmentation=AugmentationConfig(rotation=15, zoom=0.1))
    >>> [layer.name for layer in augmentation_layers(reg, (32, 32, 3))]
    ['augment_rotation', 'augment_zoom']
"""

from __future__ import annotations

import logging
from typing import Any

import keras

log = logging.getLogger(__name__)

VALUE_RANGE = (0.0, 1.0)


@keras.saving.register_keras_serializable(package="dltool")
class RandomShear(keras.layers.RandomShear):
    """``keras.layers.RandomShear`` whose checkpoints reload: Keras 3.15 saves a factor ``f`` as
    ``[-f, f]``, which its own constructor then refuses (factors must lie in [0, 1]). The factors
    dltool builds are symmetric, so ``f`` alone is saved."""

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["x_factor"], config["y_factor"] = self.x_factor[1], self.y_factor[1]
        return config


def wants_layers(aug: Any) -> bool:
    """Whether any per-image transform is asked for."""
    return bool(
        aug.horizontal_flip
        or aug.vertical_flip
        or max(aug.translation, aug.width_shift, aug.height_shift, aug.rotation, aug.shear, aug.zoom) > 0
        or max(aug.brightness, aug.contrast, aug.crop_padding) > 0
    )


def wants_mixing(aug: Any) -> bool:
    """Whether MixUp or CutMix is asked for."""
    return aug.mixup > 0 or aug.cutmix > 0


def augmentation_layers(reg: Any, input_shape: tuple[int, ...]) -> list[keras.layers.Layer]:
    """The per-image transforms asked by ``reg.augmentation``, for image inputs (rank 3), in order:
    flip, rotation, shear, zoom, shift, padded crop, brightness, contrast.

    For non-image inputs nothing is built and a warning is logged.
    """
    aug = reg.augmentation
    if not wants_layers(aug):
        return []
    if len(input_shape) != 3:
        log.warning(
            "regularization.augmentation ignored: it applies to images (height, width, channels), "
            "the data gives examples of shape %s",
            tuple(input_shape),
        )
        return []
    fill = {"fill_mode": aug.fill_mode}
    layers: list[keras.layers.Layer] = []
    if aug.horizontal_flip or aug.vertical_flip:
        both = aug.horizontal_flip and aug.vertical_flip
        mode = "horizontal_and_vertical" if both else "horizontal" if aug.horizontal_flip else "vertical"
        layers.append(keras.layers.RandomFlip(mode, name="augment_flip"))
    if aug.rotation > 0:  # degrees, as ImageDataGenerator's rotation_range; Keras wants a fraction of a turn
        layers.append(keras.layers.RandomRotation(aug.rotation / 360.0, **fill, name="augment_rotation"))
    if aug.shear > 0:
        layers.append(RandomShear(aug.shear, aug.shear, **fill, name="augment_shear"))
    if aug.zoom > 0:
        layers.append(keras.layers.RandomZoom((-aug.zoom, aug.zoom), **fill, name="augment_zoom"))
    height, width = aug.height_shift or aug.translation, aug.width_shift or aug.translation
    if height > 0 or width > 0:
        layers.append(keras.layers.RandomTranslation(height, width, **fill, name="augment_translation"))
    if aug.crop_padding > 0:
        # a random crop of the image zero-padded by p pixels is a shift by up to p pixels with zero fill;
        # unlike ZeroPadding2D + RandomCrop it keeps the shape at inference (RandomCrop is the identity there)
        p_h, p_w = aug.crop_padding / input_shape[0], aug.crop_padding / input_shape[1]
        layers.append(
            keras.layers.RandomTranslation(
                p_h, p_w, fill_mode="constant", interpolation="nearest", name="augment_padded_crop"
            )
        )
    if aug.brightness > 0:
        layers.append(keras.layers.RandomBrightness(aug.brightness, value_range=VALUE_RANGE, name="augment_brightness"))
    if aug.contrast > 0:
        layers.append(keras.layers.RandomContrast(aug.contrast, value_range=VALUE_RANGE, name="augment_contrast"))
    return layers


def mixing_layers(aug: Any, seed: int | None = None) -> list[keras.layers.Layer]:
    """``keras.layers.MixUp(alpha)`` and/or ``keras.layers.CutMix(factor)``, as asked."""
    layers: list[keras.layers.Layer] = []
    if aug.mixup > 0:
        layers.append(keras.layers.MixUp(alpha=aug.mixup, seed=seed))
    if aug.cutmix > 0:
        layers.append(keras.layers.CutMix(factor=aug.cutmix, seed=seed))
    return layers


def mix(layers: list[keras.layers.Layer], images: Any, labels: Any) -> tuple[Any, Any]:
    """Images and (one-hot or 0/1) labels of one batch after each mixing layer."""
    for layer in layers:
        mixed = layer({"images": images, "labels": labels}, training=True)
        images, labels = mixed["images"], mixed["labels"]
    return images, labels


def mix_batches(batches: Any, aug: Any, input_shape: tuple[int, ...], seed: int) -> Any:
    """``batches`` (a ``tf.data`` dataset of ``(x, y)``) with MixUp/CutMix applied, when asked and ``x`` are images.

    Raises ConfigError on a backend whose batches are not a ``tf.data`` dataset.
    """
    if not wants_mixing(aug):
        return batches
    if len(input_shape) != 3:
        log.warning("regularization.augmentation.mixup/cutmix ignored: they apply to images, not shape %s", input_shape)
        return batches
    import tensorflow as tf

    if not isinstance(batches, tf.data.Dataset):
        from dltool.errors import ConfigError

        raise ConfigError(
            "regularization.augmentation.mixup/cutmix mix tf.data batches: use trainer.backend=tensorflow"
        )
    layers = mixing_layers(aug, seed)
    return batches.map(lambda x, y: mix(layers, x, y), num_parallel_calls=tf.data.AUTOTUNE)


def augmentation_preview(reg: Any, images: Any, copies: int = 6, seed: int = 0) -> Any:
    """``copies`` augmented versions of each of ``images`` ``(n, h, w, c)``, as in training:
    an array ``(n, copies, h, w, c)``; mixing pairs each image with others of the same batch.
    ``seed`` seeds the mixing layers; the per-image layers draw from Keras' global generator."""
    import numpy as np

    layers = augmentation_layers(reg, tuple(images.shape[1:]))
    mixing = mixing_layers(reg.augmentation, seed)
    rows = []
    for _ in range(copies):
        batch = images
        for layer in layers:
            batch = layer(batch, training=True)
        batch, _ = mix(mixing, batch, np.zeros((len(images), 1), dtype="float32"))
        rows.append(keras.ops.convert_to_numpy(batch))
    return np.stack(rows, axis=1)
