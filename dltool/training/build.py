"""From a validated config and a data spec to a compiled Keras model.

Example:
    >>> model = build_compiled_model(run, data_spec(run.data))  # doctest: +SKIP
    >>> param_counts(model)  # doctest: +SKIP
    {'trainable': 8970, 'total': 8970}
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np

from dltool.config import RunConfig
from dltool.data import DataSpec
from dltool.errors import ConfigError
from dltool.models import build_model
from dltool.training.optimizers import build_optimizer

DEFAULT_METRICS = {"multiclass": ["accuracy"], "binary": ["accuracy"], "regression": ["mae"], "reconstruction": ["mae"]}


def uses_one_hot_labels(run: RunConfig, spec: DataSpec) -> bool:
    """Label smoothing, MixUp and CutMix need one-hot targets: Keras' sparse cross-entropy has no
    smoothing, and mixed labels are not one class."""
    reg = run.regularization
    mixing = reg.augmentation.mixup > 0 or reg.augmentation.cutmix > 0
    return spec.task == "multiclass" and run.trainer.loss == "auto" and (reg.label_smoothing > 0 or mixing)


def loss_and_metrics(run: RunConfig, spec: DataSpec) -> tuple[Any, list[str]]:
    """The loss and metrics of the task, unless the trainer names its own."""
    smoothing = run.regularization.label_smoothing
    if run.trainer.loss != "auto":
        loss: Any = run.trainer.loss
    elif spec.task == "multiclass":
        loss = (
            keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
            if uses_one_hot_labels(run, spec)
            else keras.losses.SparseCategoricalCrossentropy()
        )
    elif spec.task == "binary":
        loss = keras.losses.BinaryCrossentropy(label_smoothing=smoothing)
    else:
        loss = keras.losses.MeanSquaredError()
    metrics = [m for m in run.trainer.metrics if m != "auto"]
    if "auto" in run.trainer.metrics:
        metrics = DEFAULT_METRICS[spec.task] + metrics
    return loss, metrics


def build_compiled_model(run: RunConfig, spec: DataSpec, steps_per_epoch: int | None = None) -> keras.Model:
    """Build the configured architecture for ``spec`` and compile it (call inside the strategy's scope)."""
    return compile_model(build_model(run.model, spec, run.regularization), run, spec, steps_per_epoch=steps_per_epoch)


def compile_model(
    model: keras.Model,
    run: RunConfig,
    spec: DataSpec,
    learning_rate: float | None = None,
    steps_per_epoch: int | None = None,
    epochs: int | None = None,
) -> keras.Model:
    """Compile ``model`` with the run's loss, metrics and a new optimizer (at ``learning_rate`` when given).

    ``steps_per_epoch`` and ``epochs`` (default ``trainer.epochs``) size a per-step learning-rate schedule.
    """
    optimizer = (
        run.optimizer if learning_rate is None else dataclasses.replace(run.optimizer, learning_rate=learning_rate)
    )
    settings = {"jit_compile": run.trainer.jit_compile, "steps_per_execution": run.trainer.steps_per_execution}
    if run.model.name == "gan":  # an optimizer per network; the discriminator's verdicts are logits
        d_optimizer, g_optimizer = (
            build_optimizer(optimizer, steps_per_epoch, epochs or run.trainer.epochs) for _ in "dg"
        )
        model.compile(d_optimizer, g_optimizer, keras.losses.BinaryCrossentropy(from_logits=True), **settings)
        return model
    loss, metrics, loss_weights = output_losses(run, spec)
    model.compile(
        optimizer=build_optimizer(optimizer, steps_per_epoch, epochs or run.trainer.epochs),
        loss=loss,
        metrics=metrics,
        loss_weights=loss_weights,
        **settings,
    )
    return model


def output_losses(run: RunConfig, spec: DataSpec) -> tuple[Any, Any, dict[str, float] | None]:
    """Loss, metrics and loss weights (None: all 1) of the run's model: a graph's per declared output, the
    combiner's per named output of the data (each its task's, weighing 1), else the task's."""
    if run.model.name == "graph":
        return graph_losses(run, spec)
    if spec.outputs is None:
        return (*loss_and_metrics(run, spec), None)
    losses, metrics = {}, {}
    for name, target in spec.outputs.items():
        if uses_one_hot_labels(run, target):
            raise ConfigError(
                f"regularization.label_smoothing={run.regularization.label_smoothing}: named outputs take class "
                "indices; set it to 0"
            )
        losses[name], metrics[name] = loss_and_metrics(run, target)
    return losses, metrics, None


def graph_losses(run: RunConfig, spec: DataSpec) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, float]]:
    """Loss, metrics and loss weight of each output of a ``model=graph``, keyed by output name.

    ``auto`` is what :func:`loss_and_metrics` gives for that output's target (its task in
    ``spec.outputs``, or the data's task for a single output).
    """
    losses, metrics, weights = {}, {}, {}
    for name, out in run.model.outputs.items():
        target = spec.outputs[name] if spec.outputs is not None else spec
        if spec.outputs is not None and uses_one_hot_labels(run, target):
            raise ConfigError(
                f"regularization.label_smoothing={run.regularization.label_smoothing}: the outputs of a graph "
                "take class indices; set it to 0"
            )
        if out.loss == "categorical_crossentropy" and target.task == "multiclass" and spec.outputs is not None:
            raise ConfigError(
                f"model.outputs.{name}.loss=categorical_crossentropy: the data gives class indices; "
                "use sparse_categorical_crossentropy (or auto)"
            )
        auto_loss, auto_metrics = loss_and_metrics(run, target)
        losses[name] = auto_loss if out.loss == "auto" else out.loss
        metrics[name] = [m for item in out.metrics for m in (auto_metrics if item == "auto" else [item])]
        weights[name] = out.loss_weight
    return losses, metrics, weights


def param_counts(model: keras.Model) -> dict[str, int]:
    """Trainable and total parameter counts, as in ``model.summary()``."""
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    return {"trainable": trainable, "total": int(model.count_params())}
