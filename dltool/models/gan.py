"""DCGAN generator and discriminator (``model=gan``): a generator turns random latent vectors into
images, a discriminator tells them from real ones, and the two train against each other
(:mod:`dltool.training.gan`).

- generator: Dense to a ``(h / 2**k, w / 2**k, generator_filters[0])`` map -> ``k`` stride-2
  Conv2DTranspose (BatchNorm, LeakyReLU) with ``generator_filters`` -> Conv2D to the image's
  channels, sigmoid (images are in [0, 1]).
- discriminator: stride-2 Conv2D with ``discriminator_filters`` (LeakyReLU, dropout) -> flatten
  -> Dense(1) logit ("real").

:func:`build_gan` returns both as layers of one model, latent vector -> generator -> discriminator,
so that ``dltool show model=gan`` prints both with their parameter counts.

Example:
    dltool train model=gan data=digits optimizer.learning_rate=2e-4 optimizer.beta_1=0.5
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras

from dltool.config.schemas import GANConfig
from dltool.errors import ConfigError


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
    x = keras.layers.BatchNormalization(name="project_bn")(x)
    x = keras.layers.LeakyReLU(cfg.leaky_alpha, name="project_act")(x)
    x = keras.layers.Reshape(start, name="reshape")(x)
    for i, filters in enumerate(cfg.generator_filters, start=1):
        x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, name=f"up{i}")(x)
        x = keras.layers.BatchNormalization(name=f"up{i}_bn")(x)
        x = keras.layers.LeakyReLU(cfg.leaky_alpha, name=f"up{i}_act")(x)
    image = keras.layers.Conv2D(channels, 3, padding="same", activation="sigmoid", dtype="float32", name="image")(x)
    return keras.Model(latent, image, name="generator")


def build_discriminator(cfg: GANConfig, image_shape: tuple[int, int, int]) -> keras.Model:
    """Image -> one logit, positive for "real"."""
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


def build_gan(cfg: GANConfig, spec: Any) -> keras.Model:
    """Latent vector -> ``generator`` -> ``discriminator``: both networks, reachable with ``get_layer``."""
    shape = tuple(generation_spec(spec).input_shape)
    generator, discriminator = build_generator(cfg, shape), build_discriminator(cfg, shape)
    latent = keras.Input((cfg.latent_dim,), name="latent")
    return keras.Model(latent, discriminator(generator(latent)), name="gan")
