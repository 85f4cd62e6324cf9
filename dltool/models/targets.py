"""Regression targets in their own units, trained as if standardized.

A network learns best when its targets are about unit-sized; a price in dollars (values ~1e4)
is not. Rather than standardize the targets in the data (and map every prediction, metric and
exported model back by hand), the model ends with :class:`TargetScale`: the output layer predicts
standardized values ``z`` and ``TargetScale`` returns ``mean + std * z`` in the targets' units.
So predictions, the loss and the metrics (MAE, results.json, ``dltool evaluate``, ``predict``,
``export``) are in the targets' units, and a saved model needs no side file.

Its backward pass divides by the variance: the gradient that reaches ``z`` from a mean squared
error is exactly the one of a mean squared error on standardized targets. So the optimizer's
steps, and their balance against weight penalties (which do not scale with the targets), do not
depend on the targets' units; every target of a multi-output regression weighs the same.

Example:
    >>> import numpy as np
    >>> layer = TargetScale(mean=[100.0], std=[10.0])
    >>> keras.ops.convert_to_numpy(layer(np.array([[0.0], [1.5]], dtype="float32"))).ravel().tolist()
    [100.0, 115.0]
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dltool")
class TargetScale(keras.layers.Layer):
    """``mean + std * z`` per target (the last axis; the training targets' mean and positive standard deviation),
    with the gradient of standardized targets."""

    def __init__(self, mean: list[float], std: list[float], **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float32")  # after the float32 output layer, also under mixed precision
        super().__init__(**kwargs)
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]

    def call(self, inputs: Any) -> Any:
        mean = ops.convert_to_tensor(self.mean, dtype=inputs.dtype)
        std = ops.convert_to_tensor(self.std, dtype=inputs.dtype)
        # forward: mean + std * z; backward: d/dz = 1 / std, so that d(MSE)/dz is the standardized MSE's
        slope = inputs / std
        return mean + slope + ops.stop_gradient(inputs * std - slope)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "mean": self.mean, "std": self.std}


def scaled_output(outputs: Any, spec: Any, name: str = "target_scale") -> Any:
    """``outputs`` followed by a :class:`TargetScale` ``name`` when ``spec`` is a regression loaded with its targets'
    scale."""
    if spec.task != "regression" or getattr(spec, "target_scale", None) is None:
        return outputs
    mean, std = spec.target_scale
    return TargetScale(mean=list(mean), std=list(std), name=name)(outputs)
