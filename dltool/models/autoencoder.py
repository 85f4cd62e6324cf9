"""Autoencoders: learn to reproduce the input through a small code (``model=autoencoder``).

The data's task becomes ``reconstruction`` (:func:`reconstruction_spec`): the targets are the inputs, and the
output has their shape (:func:`reconstruction_head`).

- ``kind: dense``: flatten -> Dense ``hidden_units`` -> Dense ``bottleneck`` (the code) -> the
  hidden sizes in reverse -> Dense(prod(input shape)) -> Reshape (any input shape).
- ``kind: conv`` (images): Conv2D ``filters`` with stride 2 -> flatten -> Dense ``bottleneck`` ->
  Dense -> reshape -> Conv2DTranspose in reverse, stride 2 -> Conv2D 3x3 to the input channels.

Example:
    dltool train model=autoencoder data=mnist model.kind=conv model.bottleneck=16
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import ACTIVATIONS, ModelConfig
from dltool.config.registry import option
from dltool.config.regularization import RegularizationConfig
from dltool.errors import ConfigError


@option("model")
@dataclass
class AutoencoderConfig(ModelConfig):
    """Autoencoder: reproduce the input through a small code (task reconstruction: targets = inputs, MSE);
    dense (any input) or conv (images). Writes reconstructions.png to the run directory.

    Example:
        dltool train model=autoencoder data=mnist model.kind=conv model.bottleneck=16
    """

    builder: ClassVar[str] = "dltool.models.autoencoder:build_autoencoder"
    spec_change: ClassVar[str | None] = "dltool.models.autoencoder:reconstruction_spec"
    name: str = "autoencoder"
    output_activation: str = opt(
        "auto", "activation of the reconstruction (auto: sigmoid, for inputs in [0, 1])", choices=("auto", *ACTIVATIONS)
    )
    kind: str = opt("dense", "dense (any input) or conv (images; strided convolutions)", choices=("dense", "conv"))
    hidden_units: list[int] = opt([128], "dense: encoder layers before the bottleneck (mirrored in the decoder)")
    filters: list[int] = opt([32, 64], "conv: stride-2 convolutions of the encoder (mirrored, transposed)")
    bottleneck: int = opt(32, "size of the code", gt=0)
    activation: str = opt("relu", "activation of the hidden layers", choices=ACTIVATIONS)


def reconstruction_spec(spec: Any) -> Any:
    """``spec`` with task ``reconstruction``: one output per input value."""
    return dataclasses.replace(spec, task="reconstruction", num_classes=math.prod(spec.input_shape), class_names=None)


def build_autoencoder(cfg: AutoencoderConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """Encoder and decoder up to the last hidden layer; :func:`reconstruction_head` ends the model."""
    import keras

    from dltool.models.layers import kernel_regularizer, require_image

    penalty = kernel_regularizer(reg)

    def dense(x: Any, units: int, name: str) -> Any:
        return keras.layers.Dense(units, activation=cfg.activation, kernel_regularizer=penalty, name=name)(x)

    if cfg.kind == "dense":
        x = keras.layers.Flatten(name="flatten")(inputs) if len(inputs.shape) > 2 else inputs
        for i, units in enumerate(cfg.hidden_units, start=1):
            x = dense(x, units, f"encoder{i}")
        x = dense(x, cfg.bottleneck, "code")
        for i, units in enumerate(reversed(cfg.hidden_units), start=1):
            x = dense(x, units, f"decoder{i}")
        return x
    height, width, _ = require_image(inputs, "autoencoder model.kind=conv")
    factor = 2 ** len(cfg.filters)
    if height % factor or width % factor:
        raise ConfigError(
            f"model.filters={list(cfg.filters)}: {len(cfg.filters)} stride-2 convolutions need height and width "
            f"divisible by {factor}, the images are {height}x{width}"
        )

    def strided(layer: type, x: Any, filters: int, name: str) -> Any:
        return layer(
            filters, 3, strides=2, padding="same", activation=cfg.activation, kernel_regularizer=penalty, name=name
        )(x)

    x = inputs
    for i, filters in enumerate(cfg.filters, start=1):
        x = strided(keras.layers.Conv2D, x, filters, f"encoder{i}")
    coded_shape = tuple(x.shape[1:])
    x = dense(keras.layers.Flatten(name="flatten")(x), cfg.bottleneck, "code")
    x = dense(x, math.prod(coded_shape), "decoder_dense")
    x = keras.layers.Reshape(coded_shape, name="decoder_reshape")(x)
    for i, filters in enumerate(reversed(cfg.filters), start=1):
        x = strided(keras.layers.Conv2DTranspose, x, filters, f"decoder{i}")
    return x


def reconstruction_head(x: Any, input_shape: tuple[int, ...], activation: str) -> Any:
    """The output layer ``output`` of the input's shape: Dense + Reshape after vectors, a 3x3 Conv2D after images."""
    import keras

    if len(x.shape) == 4:
        return keras.layers.Conv2D(
            input_shape[-1], 3, padding="same", activation=activation, dtype="float32", name="output"
        )(x)
    x = keras.layers.Dense(math.prod(input_shape), activation=activation, dtype="float32", name="output_dense")(x)
    return keras.layers.Reshape(input_shape, dtype="float32", name="output")(x)
