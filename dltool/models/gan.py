"""DCGAN (``model=gan``): a generator turns random latent vectors into images, a discriminator tells
them from real ones, and the ``train_step`` of :class:`~dltool.models.gan_model.GAN` trains the two against
each other.

:func:`build_gan` returns the :class:`~dltool.models.gan_model.GAN` (Keras' "customizing what happens in fit()" GAN
example): ``fit`` updates the discriminator then the generator at each step and logs ``d_loss`` and ``g_loss``.
Called on latent vectors it is the generator, so a saved GAN generates images with ``predict``; it saves both
networks and both optimizers. The gradient tapes are TensorFlow's: it trains on that backend.

Example:
    dltool train model=gan data=digits optimizer.learning_rate=2e-4 optimizer.beta_1=0.5
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import ModelConfig
from dltool.config.registry import option
from dltool.errors import ConfigError

if TYPE_CHECKING:
    import keras

    from dltool.models.gan_model import GAN


@option("model")
@dataclass
class GANConfig(ModelConfig):
    """DCGAN: a generator of images from random vectors against a discriminator, trained in turn;
    samples/epoch_NNN.png shows generated images each epoch (dltool.models.gan).

    Example:
        dltool train model=gan data=digits optimizer.learning_rate=2e-4 optimizer.beta_1=0.5
    """

    builder: ClassVar[str] = "dltool.models.gan:build_gan"
    whole_model: ClassVar[bool] = True
    spec_change: ClassVar[str | None] = "dltool.models.gan:generation_spec"
    name: str = "gan"
    latent_dim: int = opt(64, "size of the generator's random input", gt=0)
    generator_filters: list[int] = opt([128, 64], "stride-2 transposed convolutions of the generator, in order")
    discriminator_filters: list[int] = opt([64, 128], "stride-2 convolutions of the discriminator, in order")
    leaky_alpha: float = opt(0.2, "negative slope of the LeakyReLUs", ge=0.0)
    dropout: float = opt(0.3, "dropout after each discriminator convolution", ge=0.0, lt=1.0)
    samples: int = opt(16, "generated images in samples/epoch_NNN.png (a square grid)", gt=0)
    label_noise: float = opt(0.05, "uniform noise added to the discriminator's 0/1 labels", ge=0.0, lt=0.5)


def generation_spec(spec: Any) -> Any:
    """``spec`` with task ``generation`` (no labels are learned); ConfigError unless the data are images."""
    if len(spec.input_shape) != 3:
        raise ConfigError(
            f"model=gan generates images (height, width, channels); the data gives examples of shape "
            f"{tuple(spec.input_shape)}: use data=digits, mnist, fashion_mnist or cifar10"
        )
    return dataclasses.replace(spec, task="generation", num_classes=1, class_names=None)


def build_generator(cfg: GANConfig, image_shape: tuple[int, int, int]) -> keras.Model:
    """Latent vector (``cfg.latent_dim``) -> image of ``image_shape`` in [0, 1]."""
    import keras

    from dltool.models.layers import FusedBatchNormalization

    height, width, channels = image_shape
    factor = 2 ** len(cfg.generator_filters)
    if height % factor or width % factor:
        raise ConfigError(
            f"model.generator_filters={list(cfg.generator_filters)}: {len(cfg.generator_filters)} stride-2 "
            f"upsamplings need height and width divisible by {factor}, the images are {height}x{width}"
        )
    start = (height // factor, width // factor, cfg.generator_filters[0])
    latent = keras.Input((cfg.latent_dim,), name="latent")
    x = keras.layers.Dense(math.prod(start), use_bias=False, name="project")(latent)
    x = FusedBatchNormalization(name="project_bn")(x)
    x = keras.layers.LeakyReLU(cfg.leaky_alpha, name="project_act")(x)
    x = keras.layers.Reshape(start, name="reshape")(x)
    for i, filters in enumerate(cfg.generator_filters, start=1):
        x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, name=f"up{i}")(x)
        x = FusedBatchNormalization(name=f"up{i}_bn")(x)
        x = keras.layers.LeakyReLU(cfg.leaky_alpha, name=f"up{i}_act")(x)
    image = keras.layers.Conv2D(channels, 3, padding="same", activation="sigmoid", dtype="float32", name="image")(x)
    return keras.Model(latent, image, name="generator")


def build_discriminator(cfg: GANConfig, image_shape: tuple[int, int, int]) -> keras.Model:
    """Image -> one logit, positive for "real"."""
    import keras

    image = keras.Input(image_shape, name="image")
    x = image
    for i, filters in enumerate(cfg.discriminator_filters, start=1):
        x = keras.layers.Conv2D(filters, 4, strides=2, padding="same", name=f"down{i}")(x)
        x = keras.layers.LeakyReLU(cfg.leaky_alpha, name=f"down{i}_act")(x)
        if cfg.dropout:
            x = keras.layers.Dropout(cfg.dropout, name=f"down{i}_dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    logit = keras.layers.Dense(1, dtype="float32", name="real")(x)
    return keras.Model(image, logit, name="discriminator")


def build_gan(cfg: GANConfig, spec: Any, reg: Any) -> GAN:
    """The uncompiled :class:`GAN` of ``cfg`` for images of ``spec``; ``reg`` is not applied (the DCGAN's own
    regularization is ``model.dropout`` and ``model.label_noise``)."""
    from dltool.models.gan_model import GAN

    shape = tuple(generation_spec(spec).input_shape)
    return GAN(build_generator(cfg, shape), build_discriminator(cfg, shape), cfg.latent_dim, cfg.label_noise)
