"""Scores of a model on a split: Keras' own compiled metrics, and scikit-learn's from predictions.

``keras_scores`` reproduces ``results.json`` (same loss, metrics, labels and batch size as the
training run); ``prediction_scores`` works from predicted outputs alone, so members of an ensemble
and the ensemble itself are scored alike.

Example:
    >>> import numpy as np
    >>> scores = prediction_scores("multiclass", np.array([0, 1]), np.array([[0.8, 0.2], [0.4, 0.6]]))
    >>> scores["accuracy"], round(scores["log_loss"], 4)
    (1.0, 0.367)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dltool.config import RunConfig
from dltool.data import DataSpec


def keras_scores(model: Any, run: RunConfig, spec: DataSpec, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """``model.evaluate`` with the run's loss and metrics, as ``{metric: value}``."""
    from dltool.training.build import output_losses, uses_one_hot_labels

    loss, metrics, weights = output_losses(run, spec)  # each output's, as training compiled them
    model.compile(loss=loss, metrics=metrics, loss_weights=weights, jit_compile=False)
    labels = np.eye(spec.num_classes, dtype="float32")[y] if uses_one_hot_labels(run, spec) else y
    from dltool.training.batches import feed

    batch_size = run.trainer.batch_size
    scores = model.evaluate(*feed(x, labels, batch_size), batch_size=batch_size, return_dict=True, verbose=0)
    return {name: float(value) for name, value in scores.items()}


def predict(model: Any, x: Any, batch_size: int = 256) -> Any:
    """The model's outputs as a NumPy array (probabilities, or values for regression); a dict of them keyed
    by output name for a model of named outputs."""
    import logging

    import keras

    from dltool.training.batches import feed

    # several models and splits each trace their own predict function: TF's retracing warning is noise here
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    outputs = model.predict(*feed(x, batch_size=batch_size), batch_size=batch_size, verbose=0)
    if isinstance(outputs, dict):
        return {name: keras.ops.convert_to_numpy(v).astype("float64") for name, v in outputs.items()}
    return keras.ops.convert_to_numpy(outputs).astype("float64")


def predicted_labels(task: str, outputs: np.ndarray) -> np.ndarray:
    """Class indices: the arg-max for multiclass, probability > 0.5 for binary."""
    return outputs.argmax(-1) if task == "multiclass" else (outputs[:, 0] > 0.5).astype(int)


def true_labels(task: str, y: np.ndarray) -> np.ndarray:
    """Class indices of the labels (binary labels are ``(n, 1)`` floats)."""
    return y.astype(int) if task == "multiclass" else y[:, 0].astype(int)


def class_probabilities(task: str, outputs: np.ndarray) -> np.ndarray:
    """One probability per class and row, summing to 1 (a binary output becomes two columns)."""
    probabilities = outputs if task == "multiclass" else np.hstack([1 - outputs, outputs])
    return probabilities / probabilities.sum(-1, keepdims=True)  # float32 softmax sums drift by ~1e-7


def fit_loss(task: str, y: np.ndarray, outputs: np.ndarray) -> float:
    """Log loss (classification) or mean squared error (regression): what ensemble weights minimize."""
    from sklearn import metrics

    if task == "regression":
        return float(metrics.mean_squared_error(y, outputs))
    probabilities = class_probabilities(task, outputs)
    return float(metrics.log_loss(true_labels(task, y), probabilities, labels=list(range(probabilities.shape[1]))))


def prediction_scores(task: str, y: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """accuracy, log_loss and macro F1 (classification) or mse, mae and r2 (regression)."""
    from sklearn import metrics

    if task == "regression":
        return {
            "mse": fit_loss(task, y, outputs),
            "mae": float(metrics.mean_absolute_error(y, outputs)),
            "r2": float(metrics.r2_score(y, outputs)),
        }
    truth, predicted = true_labels(task, y), predicted_labels(task, outputs)
    labels = list(range(max(outputs.shape[1], 2)))
    scores = {
        "accuracy": float(metrics.accuracy_score(truth, predicted)),
        "log_loss": fit_loss(task, y, outputs),
        "macro_f1": float(metrics.f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
    }
    if task == "binary" and len(np.unique(truth)) == 2:
        scores["roc_auc"] = float(metrics.roc_auc_score(truth, outputs[:, 0]))
    return scores
