"""What the schemas of the ``model`` group share: their bases, ``ACTIVATIONS``, nested configs of several models.

Each architecture's schema lives in its own module of ``dltool.models``, beside its builder, and registers itself
there (``@option("model")``); the registry imports those modules the first time the group is read. How a schema
makes an option (its docstring, fields, ``conf/model/`` presets): the README's "Adding a model".

Example:
    >>> from dltool.config.registry import SCHEMAS
    >>> SCHEMAS["model"]["mlp"]().hidden_units
    [64, 64]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dltool.config.fields import opt

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "softmax", "linear", "swish")


@dataclass
class ModelConfig:
    # Import paths ``module:function``, imported when the model is built (Keras is imported then).
    #: the body ``build(cfg, inputs, reg)``, returning the features before the output layer (see ``whole_model``)
    builder: ClassVar[str]
    #: the builder makes the whole model, ``build(cfg, spec, reg)``: its own outputs, no output layer added
    whole_model: ClassVar[bool] = False
    #: ``spec_change(spec)``: the data spec as the model sees it, when its targets are not the data's labels
    spec_change: ClassVar[str | None] = None
    #: ``note(cfg, shape)``: the line of ``dltool show`` saying which variant is built, for input-dependent layers
    note: ClassVar[str | None] = None
    #: the model reads images (height, width, channels): other data is refused before Keras is imported
    image_input: ClassVar[bool] = False
    #: ``build(cfg, spec, reg)``: the whole model of a table or of named inputs/outputs (None: refused in one line)
    combiner: ClassVar[str | None] = None

    name: str = opt(help="architecture; see `dltool list model`")
    output_activation: str = opt(
        "auto", "activation of the output layer (auto: from the task)", choices=("auto", *ACTIVATIONS)
    )


class ImageModelConfig(ModelConfig):
    image_input: ClassVar[bool] = True


@dataclass
class DenseStackConfig(ModelConfig):
    activation: str = opt("relu", "activation of the hidden layers", choices=ACTIVATIONS)
    activation_alpha: float = opt(0.01, "negative slope of leaky_relu, alpha of elu", ge=0.0)
    kernel_initializer: str = opt("auto", "Keras initializer name (auto: he_* for ReLUs, lecun for SELU)")


@dataclass
class ConvStackBlockConfig:
    filters: list[int] = opt([32, 64], "convolution filters, in order")
    pool: int = opt(2, "max-pooling size and stride after the block (0: none)", ge=0)
