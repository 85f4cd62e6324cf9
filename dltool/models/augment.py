"""Image augmentation of ``regularization.augmentation``: Keras preprocessing layers and batch mixing.

Geometric and colour transforms (the seeds' ``ImageDataGenerator`` list: flips, rotation,
width/height shift, shear, zoom, brightness, contrast, ``fill_mode``; plus random crop of the
zero-padded image) are layers at the front of the model: they run on the accelerator with the
model, are active in ``fit`` only and are the identity at inference (``evaluate``, ``predict``,
exported models). Rotation, shear, zoom and shift (and the flips, with them) are one
:class:`RandomAffine` layer: as ``ImageDataGenerator`` does, it composes them into one matrix and
resamples each image once (Keras' separate ``RandomRotation``, ``RandomShear``, ``RandomZoom``,
``RandomTranslation`` resample it once each, the main cost of augmenting on a CPU).

MixUp and CutMix mix pairs of examples *and their labels*, so they cannot be model layers:
:func:`mix_batches` maps them over the training batches (``keras.layers.MixUp``,
``keras.layers.CutMix``), with one-hot labels.

Images are in [0, 1] (every image source scales them so): brightness and contrast use that range.

Example:
    >>> from dltool.config.regularization import AugmentationConfig, RegularizationConfig
    >>> aug = AugmentationConfig(horizontal_flip=True, rotation=15, zoom=0.1, brightness=0.2)
    >>> [layer.name for layer in augmentation_layers(RegularizationConfig(augmentation=aug), (32, 32, 3))]
    ['augment_affine', 'augment_brightness']
"""

from __future__ import annotations

import inspect
import logging
import math
from typing import Any

import keras

# The base class of Keras' own image augmentation layers (RandomRotation, RandomShear, ...) is not
# public API; subclassing it gives RandomAffine what they have: the identity at inference, a
# backend switched to TensorFlow inside tf.data maps (``self.backend``), the per-backend seed
# generators, and the dict inputs (images, labels, segmentation masks).
from keras.src.layers.preprocessing.image_preprocessing.base_image_preprocessing_layer import (
    BaseImagePreprocessingLayer,
)

log = logging.getLogger(__name__)

VALUE_RANGE = (0.0, 1.0)


@keras.saving.register_keras_serializable(package="dltool")
class RandomShear(keras.layers.RandomShear):
    """``keras.layers.RandomShear`` whose checkpoints reload: Keras 3.15 saves a factor ``f`` as
    ``[-f, f]``, which its own constructor then refuses (factors must lie in [0, 1]). The factors
    dltool builds are symmetric, so ``f`` alone is saved. dltool now builds :class:`RandomAffine`
    instead; this class stays registered so that models saved with it still load."""

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["x_factor"], config["y_factor"] = self.x_factor[1], self.y_factor[1]
        return config


def affine_matrices(
    xp: Any,
    angle: Any,
    shear_x: Any,
    shear_y: Any,
    zoom_x: Any,
    zoom_y: Any,
    shift_x: Any,
    shift_y: Any,
    height: Any,
    width: Any,
) -> Any:
    """The ``(batch, 3, 3)`` matrices mapping output pixel ``(x, y, 1)`` to the input point sampled
    (``keras.ops.image.affine_transform``'s convention) of: rotate by ``angle`` degrees, shear, zoom (> 1 zooms
    out), each about the image centre, then shift by pixels: the product of the matrices of Keras'
    ``RandomRotation``, ``RandomShear`` (about the centre), ``RandomZoom`` and ``RandomTranslation`` in this order.
    ``xp`` is the array namespace (``numpy``, or a Keras backend's); the draws are arrays of shape ``(batch,)``.

    Example:
        >>> import numpy as np
        >>> one, zero = np.ones(1), np.zeros(1)
        >>> quarter_turn = affine_matrices(np, 90 * one, zero, zero, one, one, zero, zero, 3.0, 3.0)[0]
        >>> quarter_turn.round(6) + 0.0  # of a 3 x 3 image: output (x, y) samples input (2 - y, x)
        array([[ 0., -1.,  2.],
               [ 1.,  0.,  0.],
               [ 0.,  0.,  1.]])
    """
    one, zero = xp.ones_like(angle), xp.zeros_like(angle)

    def matrices(rows: list[list[Any]]) -> Any:
        return xp.stack([xp.stack(row, axis=-1) for row in rows], axis=-2)

    radians = angle * (math.pi / 180.0)
    cos, sin = xp.cos(radians), xp.sin(radians)
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    centre = matrices([[one, zero, cx * one], [zero, one, cy * one], [zero, zero, one]])
    uncentre = matrices([[one, zero, -cx * one], [zero, one, -cy * one], [zero, zero, one]])
    rotation = matrices([[cos, -sin, zero], [sin, cos, zero], [zero, zero, one]])
    shear = matrices([[one, shear_x, zero], [shear_y, one, zero], [zero, zero, one]])
    zoom = matrices([[zoom_x, zero, zero], [zero, zoom_y, zero], [zero, zero, one]])
    shift = matrices([[one, zero, -shift_x], [zero, one, -shift_y], [zero, zero, one]])
    product = xp.matmul
    return product(product(product(product(product(centre, rotation), shear), zoom), uncentre), shift)


@keras.saving.register_keras_serializable(package="dltool")
class RandomAffine(BaseImagePreprocessingLayer):
    """Random flips, rotation, shear, zoom and shift of each image, composed into one affine transform and
    resampled once (``keras.ops.image.affine_transform``), as ``ImageDataGenerator`` did; the
    identity at inference. Safe in ``tf.data`` maps, like Keras' image preprocessing layers.

    Each image draws, uniformly and independently, in this order about the image centre (:func:`affine_matrices`):
    an angle in ``[-rotation, rotation]`` **degrees** (``keras.layers.RandomRotation`` takes ``rotation / 360``);
    shears in ``[-shear, shear]`` as ``keras.layers.RandomShear(shear, shear)``, but about the centre where it
    shears about the top-left corner (and so also shifts); one zoom in ``[1 - zoom, 1 + zoom]`` for both axes, as
    ``keras.layers.RandomZoom((-zoom, zoom))``; shifts as ``keras.layers.RandomTranslation``; flips with
    probability 1/2 each, as ``keras.layers.RandomFlip``. A flip is a zoom by -1 along its axis (exact: it samples
    the input at whole pixels); flipping first would only turn the angle and shears to their opposites, whose
    ranges are the same.

    Example:
        >>> import numpy as np
        >>> layer = RandomAffine(rotation=20, shear=0.1, zoom=0.1, height_shift=0.1, width_shift=0.1, seed=0)
        >>> images = np.random.default_rng(0).random((2, 8, 8, 3), dtype="float32")
        >>> bool(np.allclose(layer(images, training=False), images))
        True
        >>> tuple(layer(images, training=True).shape)
        (2, 8, 8, 3)
    """

    _USE_BASE_FACTOR = False
    _FILL_MODES = ("reflect", "wrap", "constant", "nearest")
    _INTERPOLATIONS = ("nearest", "bilinear")

    def __init__(
        self,
        rotation: float = 0.0,
        shear: float = 0.0,
        zoom: float = 0.0,
        height_shift: float = 0.0,
        width_shift: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        fill_value: float = 0.0,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data_format=data_format, **kwargs)
        for name, value, high in (
            ("rotation", rotation, 180.0),
            ("shear", shear, 1.0),
            ("zoom", zoom, 1.0),
            ("height_shift", height_shift, 1.0),
            ("width_shift", width_shift, 1.0),
        ):
            if not 0.0 <= value <= high:
                raise ValueError(f"RandomAffine: {name} must lie in [0, {high}], got {value}")
        if fill_mode not in self._FILL_MODES:
            raise ValueError(f"RandomAffine: fill_mode must be one of {self._FILL_MODES}, got {fill_mode!r}")
        if interpolation not in self._INTERPOLATIONS:
            raise ValueError(
                f"RandomAffine: interpolation must be one of {self._INTERPOLATIONS}, got {interpolation!r}"
            )
        self.rotation, self.shear, self.zoom = float(rotation), float(shear), float(zoom)
        self.height_shift, self.width_shift = float(height_shift), float(width_shift)
        self.horizontal_flip, self.vertical_flip = bool(horizontal_flip), bool(vertical_flip)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)
        self.supports_jit = False  # as Keras' own geometric layers: the TF transform op is not XLA-compiled

    def get_random_transformation(self, data: Any, training: bool = True, seed: Any = None) -> Any:
        if not training:
            return None
        ops = self.backend
        images = data["images"] if isinstance(data, dict) else data
        shape = ops.core.shape(images)
        batch = shape[0] if len(shape) == 4 else 1
        height, width = shape[-3:-1] if self.data_format == "channels_last" else shape[-2:]
        if seed is None:
            seed = self._get_seed_generator(ops._backend)

        # one call to the generator for every parameter: a call costs more to trace than to run here
        coins = ops.random.uniform((8, batch), dtype="float32", seed=seed)
        angle, shear_x, shear_y, zoom, flip_x, flip_y, shift_x, shift_y = (coins[i] for i in range(8))

        def spread(coin: Any, bound: float, centre: float = 0.0) -> Any:  # uniform in centre ± bound
            return centre + bound * (2.0 * coin - 1.0)

        def flip(coin: Any, asked: bool) -> Any:  # -1 (a flip) or 1, with probability 1/2 each
            return ops.numpy.where(coin < 0.5, -1.0, 1.0) if asked else 1.0

        zoom = spread(zoom, self.zoom, 1.0)
        matrices = affine_matrices(
            ops.numpy,
            angle=spread(angle, self.rotation),
            shear_x=spread(shear_x, self.shear),
            shear_y=spread(shear_y, self.shear),
            zoom_x=zoom * flip(flip_x, self.horizontal_flip),
            zoom_y=zoom * flip(flip_y, self.vertical_flip),
            shift_x=spread(shift_x, self.width_shift) * ops.cast(width, "float32"),
            shift_y=spread(shift_y, self.height_shift) * ops.cast(height, "float32"),
            height=ops.cast(height, "float32"),
            width=ops.cast(width, "float32"),
        )
        # affine_transform takes the first 8 entries of each matrix (the last is 1)
        return {"transforms": ops.numpy.reshape(matrices, (batch, 9))[:, :8]}

    def _transform_images(self, images: Any, transformation: Any, interpolation: str) -> Any:
        if transformation is None:
            return images
        return self.backend.image.affine_transform(
            images,
            transformation["transforms"],
            interpolation=interpolation,
            fill_mode=self.fill_mode,
            fill_value=self.fill_value,
            data_format=self.data_format,
        )

    def transform_labels(self, labels: Any, transformation: Any, training: bool = True) -> Any:
        return labels

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        own = inspect.signature(RandomAffine.__init__).parameters
        return {**super().get_config(), **{key: getattr(self, key) for key in own if key not in ("self", "kwargs")}}


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
    """The per-image transforms asked by ``reg.augmentation`` for image inputs (else a warning), in order: flips +
    rotation + shear + zoom + shift (one :class:`RandomAffine`; flips alone are a ``keras.layers.RandomFlip``, which
    needs no resampling), padded crop (a shift with zero fill, where the affine transform uses ``fill_mode``),
    brightness, contrast."""
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
    layers: list[keras.layers.Layer] = []
    height, width = aug.height_shift or aug.translation, aug.width_shift or aug.translation
    if max(aug.rotation, aug.shear, aug.zoom, height, width) > 0:
        flips = {"horizontal_flip": aug.horizontal_flip, "vertical_flip": aug.vertical_flip}
        ranges = (aug.rotation, aug.shear, aug.zoom, height, width)
        layers.append(RandomAffine(*ranges, **flips, fill_mode=aug.fill_mode, name="augment_affine"))
    elif aug.horizontal_flip or aug.vertical_flip:
        both = aug.horizontal_flip and aug.vertical_flip
        mode = "horizontal_and_vertical" if both else "horizontal" if aug.horizontal_flip else "vertical"
        layers.append(keras.layers.RandomFlip(mode, name="augment_flip"))
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
    """``batches`` (a ``tf.data`` dataset of ``(x, y)``; else ConfigError) with MixUp/CutMix applied, when asked and
    ``x`` are images."""
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
