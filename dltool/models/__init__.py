"""Keras model builders, found from the model schemas.

Each architecture is one module with a body builder ``build_<name>(cfg, inputs, reg)`` that returns
the features before the output layer. :func:`build_model` wraps it: ``keras.Input`` of the data's
example shape, the augmentation layers (images only, active in training only), the body, and the
output layer ``Dense(units, activation, dtype="float32", name="output")``, kept in float32 so that
the head stays stable under mixed precision. Data of named inputs or outputs is read by ``model=mlp``'s
combiner (:mod:`dltool.models.combiner`) or a ``model=graph``.

Adding an architecture: one module here, holding its schema (decorated ``@option("model")``) and its builder
(the README's "Adding a model"; the schema's ClassVars: :class:`~dltool.config.model.ModelConfig`). The registry
imports every module of this package but :data:`KERAS_MODULES` when the model group is first read, so a model
module imports Keras inside its functions alone; nor does this package import it before a model is built.

Example:
    >>> from dltool.models.mlp import MLPConfig
    >>> from dltool.config.regularization import RegularizationConfig
    >>> from dltool.data import DataSpec
    >>> model = build_model(MLPConfig(), DataSpec((8, 8, 1), "multiclass", 10), RegularizationConfig())
    >>> model.count_params()
    8970
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dltool.config.registry import SCHEMAS, resolve
from dltool.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    import keras

__all__ = [
    "TargetScale",
    "ZeroPadShortcut",
    "augmentation_layers",
    "build_model",
    "builder",
    "embedding_front",
    "import_builders",
    "model_note",
    "model_spec",
    "output_activation",
    "output_units",
]


#: The modules of Keras-time code alone (Keras layers and models, the helpers of the builders): the discovery of
#: the model schemas (:func:`dltool.config.registry.discover`) does not import them.
KERAS_MODULES = ("augment", "combiner", "ensemble", "gan_model", "layers", "targets")

#: The model modules in the order of the registry (of messages listing the models); others follow by name.
ORDER = (
    "mlp",
    "cnn",
    "resnet",
    "airbench",
    "lenet",
    "alexnet",
    "vgg",
    "inception",
    "xception",
    "mobilenet",
    "sequence",
    "transformer",
    "autoencoder",
    "transfer",
    "gan",
    "graph",
)

#: Keras layers offered here, imported on first use (:func:`__getattr__`): their modules import Keras.
_LAZY = {
    "TargetScale": "targets",
    "ZeroPadShortcut": "layers",
    "augmentation_layers": "augment",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TASK_ACTIVATIONS = {"multiclass": "softmax", "binary": "sigmoid", "regression": "linear", "reconstruction": "sigmoid"}


def output_activation(cfg: Any, spec: Any) -> str:
    """Activation of the output layer: ``cfg.output_activation`` unless it is ``auto``, else the task's."""
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


def builder(name: str) -> Callable[..., Any]:
    """The builder of model option ``name`` (its schema's ``builder``), imported now; ConfigError if unknown."""
    models = SCHEMAS["model"]
    if name not in models:
        raise ConfigError(f"model={name}: unknown model ({', '.join(models)}){did_you_mean(name, models)}")
    return resolve(models[name].builder)


def import_builders() -> None:
    """Import every registered model's builder module: the Keras layers they define register themselves
    (package ``dltool``), which a saved model needs to load back; and the modules of Keras layers."""
    for name in KERAS_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    for schema in SCHEMAS["model"].values():
        resolve(schema.builder)


def model_spec(cfg: Any, spec: Any) -> Any:
    """The data spec as the model sees it: ``spec``, or with the task the model sets (autoencoder:
    ``reconstruction``, whose targets are the inputs), as its schema's ``spec_change`` says."""
    change = getattr(SCHEMAS["model"].get(cfg.name), "spec_change", None)
    return resolve(change)(spec) if change else spec


def model_note(cfg: Any, spec: Any) -> str | None:
    """The line saying which variant ``cfg`` builds on ``spec``'s examples (``dltool show``), if its layers depend
    on the input (its schema names a ``note``)."""
    note = getattr(SCHEMAS["model"].get(cfg.name), "note", None)
    return resolve(note)(cfg, tuple(spec.input_shape)) if note else None


def embedding_front(cfg: Any, spec: Any, inputs: Any) -> Any:
    """``Embedding(spec.vocab_size, cfg.embedding_dim)`` of integer token inputs (ConfigError for a model without
    ``embedding_dim``); float inputs pass through."""
    import keras

    if not getattr(spec, "input_dtype", "float32").startswith("int"):
        return inputs
    if not hasattr(cfg, "embedding_dim"):
        with_embedding = ", ".join(
            name for name, schema in SCHEMAS["model"].items() if "embedding_dim" in schema.__dataclass_fields__
        )
        raise ConfigError(
            f"model={cfg.name} cannot read integer tokens (the data gives token sequences): use a model with an "
            f"embedding front ({with_embedding})"
        )
    return keras.layers.Embedding(spec.vocab_size, cfg.embedding_dim, name="embedding")(inputs)


def build_model(cfg: Any, spec: Any, reg: Any) -> keras.Model:
    """The uncompiled Keras model of ``cfg`` for data ``spec``, regularized by ``reg``; ConfigError when the config
    cannot build on this data (e.g. a CNN on vectors)."""
    import keras

    from dltool.models.augment import augmentation_layers
    from dltool.models.autoencoder import reconstruction_head
    from dltool.models.layers import kernel_regularizer
    from dltool.models.targets import scaled_output

    body, schema = builder(cfg.name), SCHEMAS["model"][cfg.name]
    if schema.whole_model:  # e.g. the GAN's two networks, trained by its own train_step
        return body(cfg, spec, reg)
    combiner = getattr(schema, "combiner", None)  # GraphConfig is no ModelConfig: getattr
    if combiner and (spec.tabular or spec.inputs is not None or spec.outputs is not None):
        return resolve(combiner)(cfg, spec, reg)  # model=mlp: each input encoded, concatenated, heads
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
