"""A parameter-efficient ensemble of MLPs, trained as one model (TabM-mini, Gorishniy et al. 2024; docs/data.md).

``k`` members share every hidden layer: member ``i`` sees the inputs scaled elementwise by its own weights
(:class:`MemberInputs`: ``(batch, features) -> (batch, k, features)``), and each has its own output layer
(:class:`MemberHeads`), whose predictions are averaged. The average gives each member's own weights ``1/k`` of
the gradient it would get trained alone, which slows plain SGD ``k``-fold: their backward pass multiplies it by
``k`` (:func:`own_gradient`), so every member steps as one MLP would, with any optimizer.

Example:
    >>> import numpy as np
    >>> x = np.ones((2, 3), dtype="float32")
    >>> members = MemberInputs(4)(x)
    >>> tuple(members.shape)
    (2, 4, 3)
    >>> tuple(MemberHeads(5, activation="softmax")(members).shape)
    (2, 5)
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops


def own_gradient(weights: Any, members: int) -> Any:
    """``weights`` forward, ``members`` times their gradient backward: a member's gradient as if it trained alone.

    >>> keras.ops.convert_to_numpy(own_gradient(keras.ops.ones((2,)), 4)).tolist()
    [1.0, 1.0]
    """
    return weights + (members - 1) * (weights - ops.stop_gradient(weights))


@keras.saving.register_keras_serializable(package="dltool")
class MemberInputs(keras.layers.Layer):
    """``members`` copies of each example, copy ``i`` multiplied elementwise by its own weights, which start uniform
    in [-1, 1] so that the members start apart (TabM-mini's random init)."""

    def __init__(self, members: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.members = int(members)

    def build(self, input_shape: tuple) -> None:
        self.scales = self.add_weight(
            name="scales",
            shape=(self.members, input_shape[-1]),
            initializer=keras.initializers.RandomUniform(-1.0, 1.0),
        )

    def call(self, inputs: Any) -> Any:
        return ops.expand_dims(inputs, 1) * ops.cast(own_gradient(self.scales, self.members), inputs.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.members, input_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "members": self.members}


@keras.saving.register_keras_serializable(package="dltool")
class MemberHeads(keras.layers.Layer):
    """Each member's own Dense output layer and activation, averaged over the members: ``(batch, k, features) ->
    (batch, units)``. Each member's kernel starts as a Glorot-uniform ``Dense``'s."""

    def __init__(self, units: int, activation: Any = None, kernel_regularizer: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape: tuple) -> None:
        members, features = input_shape[1], input_shape[2]
        limit = math.sqrt(6.0 / (features + self.units))  # per member, not over the (k, features) fan-in
        self.kernel = self.add_weight(
            name="kernel",
            shape=(members, features, self.units),
            initializer=keras.initializers.RandomUniform(-limit, limit),
            regularizer=self.kernel_regularizer,
        )
        self.bias = self.add_weight(name="bias", shape=(members, self.units), initializer="zeros")

    def call(self, inputs: Any) -> Any:
        members = inputs.shape[1]
        outputs = ops.einsum("bkf,kfu->bku", inputs, own_gradient(self.kernel, members))
        outputs = outputs + own_gradient(self.bias, members)
        return ops.mean(self.activation(outputs), axis=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], self.units)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
