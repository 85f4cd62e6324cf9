"""Figures of ``dltool evaluate``: ROC and precision-recall curves, residuals, worst-classified examples.

Example:
    >>> plot_roc_pr(y_true, scores, "roc_curve.png", "precision_recall_curve.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dltool.plots import _pyplot, _save, _show_image


def plot_roc_pr(y_true: np.ndarray, scores: np.ndarray, roc_out: str | Path, pr_out: str | Path) -> None:
    """scikit-learn's ROC and precision-recall displays of a binary task's positive-class scores."""
    from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

    plt = _pyplot()
    for display, out in ((RocCurveDisplay, roc_out), (PrecisionRecallDisplay, pr_out)):
        fig, ax = plt.subplots(figsize=(5, 5))
        display.from_predictions(y_true, scores, ax=ax, plot_chance_level=True)
        ax.grid(alpha=0.3)
        _save(fig, out)


def plot_residuals(y_true: np.ndarray, y_pred: np.ndarray, out: str | Path) -> None:
    """Residuals (prediction - truth) against the prediction, and their histogram."""
    plt = _pyplot()
    truth, predicted = y_true.reshape(-1), y_pred.reshape(-1)
    residuals = predicted - truth
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.scatter(predicted, residuals, s=8, alpha=0.6)
    left.axhline(0, color="black", linewidth=1)
    left.set(xlabel="prediction", ylabel="prediction - truth", title="residuals")
    right.hist(residuals, bins=40)
    right.set(xlabel="prediction - truth", ylabel="examples", title="distribution")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    _save(fig, out)


def plot_examples(images: np.ndarray, captions: Sequence[str], out: str | Path, title: str) -> None:
    """A grid of images (``(n, h, w, c)`` in [0, 1]) with one caption each."""
    plt = _pyplot()
    columns = min(8, len(images))
    rows = math.ceil(len(images) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 2.1 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions, strict=False):
        _show_image(ax, image)
        ax.set_title(caption, fontsize=8)
    fig.suptitle(title)
    _save(fig, out)
