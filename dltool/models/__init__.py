"""Keras model builders and their registry.

Each architecture is one module with a body builder ``build_<name>(cfg, inputs, reg)`` that returns
the features before the output layer. :func:`build_model` wraps it: ``keras.Input`` of the data's
example shape, the augmentation layers (images only, active in training only), the body, and the
output layer ``Dense(units, activation, dtype="float32", name="output")``, kept in float32 so that
the head stays stable under mixed precision. Data of named inputs or outputs is read by ``model=mlp``'s
combiner (:mod:`dltool.models.combiner`) or a ``model=graph``.

Adding an architecture: write ``dltool/models/<name>.py`` with ``build_<name>``, add its line to
:data:`MODELS`, and its schema to ``MODEL_SCHEMAS`` (``dltool/config/model.py``).

Example:
    >>> from dltool.config.model import MLPConfig
    >>> from dltool.config.regularization import RegularizationConfig
    >>> from dltool.data import DataSpec
    >>> model = build_model(MLPConfig(), DataSpec((8, 8, 1), "multiclass", 10), RegularizationConfig())
    >>> model.count_params()
    8970
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from dltool.errors import ConfigError, did_you_mean
from dltool.models.airbench import build_airbench
from dltool.models.alexnet import build_alexnet
from dltool.models.augment import augmentation_layers
from dltool.models.autoencoder import build_autoencoder, reconstruction_head, reconstruction_spec
from dltool.models.cnn import build_cnn
from dltool.models.combiner import TokenMean, build_combiner
from dltool.models.gan import build_gan, generation_spec
from dltool.models.graph import build_graph
from dltool.models.inception import build_inception
from dltool.models.layers import ZeroPadShortcut, kernel_regularizer
from dltool.models.lenet import build_lenet5, lenet5_note
from dltool.models.mlp import build_mlp
from dltool.models.mobilenet import build_mobilenet_v2
from dltool.models.resnet import build_resnet
from dltool.models.sequence import build_conv1d, build_rnn
from dltool.models.targets import TargetScale, scaled_output
from dltool.models.transfer import build_transfer
from dltool.models.transformer import PositionEmbedding, build_transformer
from dltool.models.vgg import build_vgg
from dltool.models.xception import build_separable_cnn, build_xception

__all__ = [
    "MODELS",
    "PositionEmbedding",
    "TargetScale",
    "TokenMean",
    "ZeroPadShortcut",
    "augmentation_layers",
    "build_model",
    "embedding_front",
    "model_note",
    "model_spec",
    "output_activation",
    "output_units",
]

#: Body builders keyed by ``model.name``; the keys equal ``SCHEMAS["model"]``'s.
MODELS: dict[str, Callable[..., Any]] = {
    "mlp": build_mlp,
    "cnn": build_cnn,
    "resnet": build_resnet,
    "airbench": build_airbench,
    "lenet5": build_lenet5,
    "alexnet": build_alexnet,
    "vgg": build_vgg,
    "inception": build_inception,
    "xception": build_xception,
    "separable_cnn": build_separable_cnn,
    "mobilenet_v2": build_mobilenet_v2,
    "rnn": build_rnn,
    "conv1d": build_conv1d,
    "transformer": build_transformer,
    "autoencoder": build_autoencoder,
    "transfer": build_transfer,
    "gan": build_gan,  # a whole model (the GAN with its own train_step), not a body: see build_model
    "graph": build_graph,  # a whole model, not a body: build_graph(cfg, spec, reg) (docs/graph.md)
}

#: Models that change the data's task (their targets are not the dataset's labels).
TASK_CHANGES: dict[str, Callable[[Any], Any]] = {"autoencoder": reconstruction_spec, "gan": generation_spec}

#: Builders whose layers depend on the input, with the line that says which choice they made.
NOTES: dict[str, Callable[[Any, tuple], str]] = {"lenet5": lenet5_note}

_TASK_ACTIVATIONS = {"multiclass": "softmax", "binary": "sigmoid", "regression": "linear", "reconstruction": "sigmoid"}


def output_activation(cfg: Any, spec: Any) -> str:
    """Activation of the output layer: ``cfg.output_activation`` unless it is ``auto``, else
    softmax (multiclass), sigmoid (binary) or linear (regression)."""
    chosen = getattr(cfg, "output_activation", "auto")
    if chosen != "auto":
        return chosen
    try:
        return _TASK_ACTIVATIONS[spec.task]
    except KeyError:
        raise ConfigError(
            f"data task={spec.task}: unknown task (multiclass, binary, regression, reconstruction)"
        ) from None


def output_units(spec: Any) -> int:
    """Units of the output layer: the number of classes for multiclass, of targets for regression, else 1."""
    return int(spec.num_classes) if spec.task in ("multiclass", "regression") else 1


def model_spec(cfg: Any, spec: Any) -> Any:
    """The data spec as the model sees it: ``spec``, or with the task the model sets (autoencoder:
    ``reconstruction``, whose targets are the inputs)."""
    change = TASK_CHANGES.get(cfg.name)
    return change(spec) if change else spec


def model_note(cfg: Any, spec: Any) -> str | None:
    """The line saying which variant ``cfg`` builds on ``spec``'s examples (``dltool show``), if its layers depend
    on the input."""
    note = NOTES.get(cfg.name)
    return note(cfg, tuple(spec.input_shape)) if note else None


def embedding_front(cfg: Any, spec: Any, inputs: Any) -> Any:
    """``Embedding(spec.vocab_size, cfg.embedding_dim)`` of integer token inputs; float inputs pass through.

    Raises ConfigError when tokens meet a model without an ``embedding_dim`` (one that expects floats).
    """
    if not getattr(spec, "input_dtype", "float32").startswith("int"):
        return inputs
    if not hasattr(cfg, "embedding_dim"):
        with_embedding = ", ".join(
            name for name, schema in _schemas().items() if "embedding_dim" in schema.__dataclass_fields__
        )
        raise ConfigError(
            f"model={cfg.name} cannot read integer tokens (the data gives token sequences): use a model with an "
            f"embedding front ({with_embedding})"
        )
    return keras.layers.Embedding(spec.vocab_size, cfg.embedding_dim, name="embedding")(inputs)


def _schemas() -> dict[str, type]:
    from dltool.config.schemas import SCHEMAS

    return SCHEMAS["model"]


def build_model(cfg: Any, spec: Any, reg: Any) -> keras.Model:
    """The Keras model of ``cfg`` (a model config dataclass) for data ``spec`` (a DataSpec),
    regularized by ``reg`` (a RegularizationConfig). Not compiled.

    Raises ConfigError when the config cannot build on this data (e.g. a CNN on vectors).
    """
    try:
        body = MODELS[cfg.name]
    except KeyError:
        raise ConfigError(
            f"model={cfg.name}: unknown model ({', '.join(MODELS)}){did_you_mean(cfg.name, MODELS)}"
        ) from None
    if cfg.name == "gan":  # two networks and no output head, trained by the GAN's own train_step
        return body(cfg, spec)
    if cfg.name == "graph":
        return body(cfg, spec, reg)
    if cfg.name == "mlp" and (spec.tabular or spec.inputs is not None or spec.outputs is not None):
        return build_combiner(cfg, spec, reg)  # each input encoded by its kind, concatenated, the hidden layers, heads
    if getattr(cfg, "members", None) not in (None, 1):
        raise ConfigError(
            f"model.members={cfg.members}: the ensemble is built on tables and named inputs (data=csv, data=arrays "
            "of named arrays); leave model.members=null on this data"
        )
    if spec.inputs is not None or spec.outputs is not None:
        names = ", ".join([*(spec.inputs or ["input"]), "->", *(spec.outputs or ["output"])])
        raise ConfigError(
            f"model={cfg.name}: the data has named inputs and outputs ({names}); train them with model=mlp "
            "(the combiner) or declare a model=graph (docs/graph.md)"
        )
    spec = model_spec(cfg, spec)
    input_shape = tuple(spec.input_shape)
    inputs = keras.Input(shape=input_shape, dtype=spec.input_dtype, name="input")
    x = embedding_front(cfg, spec, inputs)
    for layer in augmentation_layers(reg, input_shape):
        x = layer(x)
    x = body(cfg, x, reg)
    if spec.task == "reconstruction":
        return keras.Model(inputs, reconstruction_head(x, input_shape, output_activation(cfg, spec)), name=cfg.name)
    outputs = keras.layers.Dense(
        output_units(spec),
        activation=output_activation(cfg, spec),
        kernel_regularizer=kernel_regularizer(reg),
        dtype="float32",
        name="output",
    )(x)
    return keras.Model(inputs, scaled_output(outputs, spec), name=cfg.name)
