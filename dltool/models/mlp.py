"""Multilayer perceptron: a stack of Dense layers (``model=mlp``; ``model=perceptron`` has none).

Inputs of rank > 1 (images) are flattened first. ``hidden_units: []`` wires the input straight to the output
layer: the perceptron (logistic regression with a sigmoid head, linear regression with a linear one).

Example:
    dltool train model=mlp model.hidden_units=[128,64] model.activation=selu
"""

from __future__ import annotations

from typing import Any

import keras

from dltool.config.model import MLPConfig
from dltool.config.regularization import RegularizationConfig
from dltool.models.layers import dense_stack


def build_mlp(cfg: MLPConfig, inputs: Any, reg: RegularizationConfig) -> Any:
    """The hidden layers of an MLP on ``inputs``; returns the features before the head."""
    x = inputs
    if len(inputs.shape) > 2:  # batch axis + more than one axis per example
        x = keras.layers.Flatten(name="flatten")(x)
    return dense_stack(x, list(cfg.hidden_units), cfg, reg)
