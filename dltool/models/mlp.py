"""Multilayer perceptron: a stack of Dense layers (``model=mlp``; ``model=perceptron`` has none).

Inputs of rank > 1 (images) are flattened first. ``hidden_units: []`` wires the input straight to the output
layer: the perceptron (logistic regression with a sigmoid head, linear regression with a linear one).

Example:
    dltool train model=mlp model.hidden_units=[128,64] model.activation=selu
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import DenseStackConfig
from dltool.config.registry import option
from dltool.config.regularization import RegularizationConfig


@option("model")
@dataclass
class MLPConfig(DenseStackConfig):
    """Multilayer perceptron: Dense 64 -> Dense 64 (ReLU) -> output layer; the default model.

    Example:
        dltool train model=mlp data=digits model.hidden_units=[128,64] model.activation=selu
    """

    builder: ClassVar[str] = "dltool.models.mlp:build_mlp"
    combiner: ClassVar[str | None] = "dltool.models.combiner:build_combiner"
    name: str = "mlp"
    hidden_units: list[int] = opt([64, 64], "sizes of the hidden Dense layers ([] is a perceptron)")
    members: int | None = opt(
        None,
        "tables and named inputs: members of a parameter-efficient ensemble sharing the hidden layers, predictions "
        "averaged (null: 32 with hidden layers, else 1)",
        gt=0,
    )


def build_mlp(cfg: MLPConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """The hidden layers of an MLP on ``inputs``; returns the features before the head."""
    import keras

    from dltool.models.layers import dense_stack

    x = inputs
    if len(inputs.shape) > 2:  # batch axis + more than one axis per example
        x = keras.layers.Flatten(name="flatten")(x)
    return dense_stack(x, list(cfg.hidden_units), cfg, reg)
