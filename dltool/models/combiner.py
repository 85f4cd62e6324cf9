"""The default model of data with several named inputs or outputs: each input encoded by its kind, concatenated,
the MLP's hidden layers, one head per output (``model=mlp``, like Ludwig's ``concat`` combiner; docs/data.md).

Data of one input or one output keeps the names ``input`` and ``output`` for it: a table's encoded columns are
one input. With ``model.members`` > 1 the hidden layers and heads are a parameter-efficient ensemble
(:mod:`dltool.models.ensemble`).

Example:
    >>> from dltool.models.mlp import MLPConfig
    >>> from dltool.config.regularization import RegularizationConfig
    >>> from dltool.data.base import DataSpec, InputSpec, OutputSpec
    >>> spec = DataSpec((3,), "multioutput", 1, inputs={"size": InputSpec((3,)), "words": InputSpec((6,), "int32", 9)},
    ...                 outputs={"kind": OutputSpec("multiclass", 4), "price": OutputSpec("regression")})
    >>> model = build_combiner(MLPConfig(hidden_units=[8], members=4), spec, RegularizationConfig())
    >>> model.get_layer("words_embedding").output_dim, sorted(model.output_names)
    (5, ['kind', 'price'])
    >>> tuple(model.get_layer("hidden1").output.shape), tuple(model.get_layer("kind").output.shape)
    ((None, 4, 8), (None, 4))
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from dltool.models.ensemble import MemberHeads, MemberInputs
from dltool.models.layers import activation_layer, dense_stack, initializer, kernel_regularizer
from dltool.models.targets import scaled_output

CONV_FILTERS = (16, 32, 64)  # the image tower's blocks: small, for images that are one input among others
MAX_EMBEDDING = 50
MEMBERS = 32  # model.members' default with hidden layers: TabM's k


@keras.saving.register_keras_serializable(package="dltool")
class TokenMean(keras.layers.Layer):
    """The mean of a sequence's embedded tokens, those masked (id 0, padding) left out; zeros when all are.

    ``GlobalAveragePooling1D`` divides by the number of tokens kept, which is 0 for an empty cell.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return ops.mean(inputs, axis=1)
        kept = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        return ops.sum(inputs * kept, axis=1) / ops.maximum(ops.sum(kept, axis=1), 1.0)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], input_shape[2])


def embedding_dim(vocab_size: int) -> int:
    """Embedding width of ``vocab_size`` ids: half of them, at most 50.

    >>> embedding_dim(7), embedding_dim(1000)
    (4, 50)
    """
    return max(1, min(MAX_EMBEDDING, (int(vocab_size) + 1) // 2))


def build_combiner(cfg: Any, spec: Any, reg: Any) -> keras.Model:
    """The combiner model of ``cfg`` (an ``MLPConfig``) for ``spec``'s named inputs and outputs; not compiled."""
    specs = _input_specs(spec)
    inputs = {name: keras.Input(shape=s.shape, dtype=s.dtype, name=name) for name, s in specs.items()}
    parts = [encode_input(name, inputs[name], s, cfg, reg) for name, s in specs.items()]
    x = keras.layers.Concatenate(name="combine")(parts) if len(parts) > 1 else parts[0]
    count = members(cfg)
    if count > 1:
        x = MemberInputs(count, name="members")(x)
    x = dense_stack(x, list(cfg.hidden_units), cfg, reg)
    targets = spec.outputs if spec.outputs is not None else {"output": spec}
    heads = {name: _head(x, name, target, cfg, reg, count) for name, target in targets.items()}
    model_inputs = inputs if spec.inputs is not None else inputs["input"]
    model_outputs = heads if spec.outputs is not None else heads["output"]
    return keras.Model(model_inputs, model_outputs, name="combiner")


def members(cfg: Any) -> int:
    """The ensemble's size: ``model.members``, or 32 with hidden layers and 1 without (an average of linear
    models is one linear model).

    >>> from dltool.models.mlp import MLPConfig
    >>> members(MLPConfig()), members(MLPConfig(hidden_units=[])), members(MLPConfig(members=4))
    (32, 1, 4)
    """
    if cfg.members is not None:
        return int(cfg.members)
    return MEMBERS if cfg.hidden_units else 1


def encode_input(name: str, tensor: Any, spec: Any, cfg: Any, reg: Any) -> Any:
    """One input's features as a vector: by its dtype and shape (module docstring)."""
    if str(spec.dtype).startswith("int"):
        vocab = int(spec.vocab_size or 1)
        embedded = keras.layers.Embedding(vocab, embedding_dim(vocab), mask_zero=True, name=f"{name}_embedding")(tensor)
        return TokenMean(name=f"{name}_mean")(embedded)
    if len(spec.shape) == 3:
        return _conv_tower(name, tensor, cfg, reg)
    if len(spec.shape) != 1:
        return keras.layers.Flatten(name=f"{name}_flatten")(tensor)
    return tensor


def _conv_tower(name: str, x: Any, cfg: Any, reg: Any) -> Any:
    """Conv2D -> activation -> 2x2 max-pooling per block (``same`` pooling: a small image shrinks to 1x1, no
    further), then the mean over the positions."""
    init, penalty = initializer(cfg), kernel_regularizer(reg)
    for i, filters in enumerate(CONV_FILTERS, start=1):
        block = f"{name}_conv{i}"
        x = keras.layers.Conv2D(
            filters, 3, padding="same", kernel_initializer=init, kernel_regularizer=penalty, name=block
        )(x)
        x = activation_layer(cfg.activation, cfg.activation_alpha, layer_name=f"{block}_act")(x)
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"{block}_pool")(x)
    return keras.layers.GlobalAveragePooling2D(name=f"{name}_pool")(x)


def _head(x: Any, name: str, target: Any, cfg: Any, reg: Any, count: int) -> Any:
    """The Dense output of one target (float32, its task's activation; over ``count`` > 1 members, their average),
    in the targets' units for a regression.

    Keras names an output after its last layer: a scaled head's Dense is ``<name>_dense``, its scaling ``<name>``.
    """
    from dltool.models import output_activation, output_units

    scaled = target.task == "regression" and getattr(target, "target_scale", None) is not None
    head = MemberHeads if count > 1 else keras.layers.Dense
    out = head(
        output_units(target),
        activation=output_activation(cfg, target),
        kernel_regularizer=kernel_regularizer(reg),
        dtype="float32",
        name=f"{name}_dense" if scaled else name,
    )(x)
    return scaled_output(out, target, name)


def _input_specs(spec: Any) -> dict[str, Any]:
    """The named inputs, or the single one as ``input``."""
    if spec.inputs is not None:
        return dict(spec.inputs)
    from dltool.data.base import InputSpec

    return {"input": InputSpec(tuple(spec.input_shape), spec.input_dtype, spec.vocab_size)}
