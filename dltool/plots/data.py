"""Figures about the data: decision boundaries of 2-D classifiers, the augmentation preview grid.

Example:
    >>> plot_decision_boundary(model.predict, x_train, y_train, "decision_boundary.png")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from dltool.plots import _pyplot, _save, _show_image

GRID = 200  # points per axis of the decision-boundary mesh


def plot_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    out: str | Path,
    class_names: Sequence[str] | None = None,
    title: str = "training split",
) -> None:
    """The classifier's decision regions over the plane of 2-D inputs ``x``, with the points on top.

    ``predict`` maps ``(n, 2)`` points to probabilities: ``(n, 1)`` for binary (the boundary is
    p = 0.5, the shading p), ``(n, k)`` for multiclass (regions by argmax). ``y`` holds class
    indices (or 0/1 of shape ``(n, 1)``).
    """
    plt = _pyplot()
    margin = 0.1 * (x.max(0) - x.min(0)) + 1e-6
    low, high = x.min(0) - margin, x.max(0) + margin
    g0, g1 = np.meshgrid(np.linspace(low[0], high[0], GRID), np.linspace(low[1], high[1], GRID))
    probabilities = np.asarray(predict(np.stack([g0.ravel(), g1.ravel()], 1).astype(np.float32)))
    labels = np.asarray(y).reshape(len(x), -1)[:, 0].astype(int)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    binary = probabilities.shape[-1] == 1
    if binary:
        p = probabilities[:, 0].reshape(g0.shape)
        shading = ax.contourf(g0, g1, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        ax.contour(g0, g1, p, levels=[0.5], colors="k", linewidths=1.5)
        fig.colorbar(shading, ax=ax, label="p(class 1)")
    else:
        regions = probabilities.argmax(-1).reshape(g0.shape)
        k = probabilities.shape[-1]
        ax.contourf(g0, g1, regions, levels=np.arange(k + 1) - 0.5, cmap="tab10", vmin=0, vmax=9, alpha=0.35)
    names = list(class_names) if class_names else [str(c) for c in range(labels.max() + 1)]
    for c in np.unique(labels):
        color = plt.get_cmap("RdBu_r")(0.0 if c == 0 else 1.0) if binary else f"C{c}"
        ax.scatter(*x[labels == c].T, s=12, color=color, edgecolors="k", linewidths=0.3, label=names[c])
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"decision boundary ({title})")
    ax.legend(loc="upper right", fontsize=8)
    _save(fig, out)


def plot_augmentation_preview(originals: np.ndarray, augmented: np.ndarray, out: str | Path) -> None:
    """One row per image: the original, then its augmented copies (``augmented``: ``(n, copies, h, w, c)``)."""
    plt = _pyplot()
    n, copies = augmented.shape[:2]
    fig, axes = plt.subplots(n, copies + 1, figsize=(1.4 * (copies + 1), 1.4 * n), squeeze=False)
    for i in range(n):
        for j, image in enumerate([originals[i], *augmented[i]]):
            _show_image(axes[i][j], image)
            axes[i][j].set(xticks=[], yticks=[])
        axes[i][0].set_ylabel(f"#{i}", fontsize=8)
    axes[0][0].set_title("original", fontsize=8)
    for j in range(1, copies + 1):
        axes[0][j].set_title(f"augmented {j}", fontsize=8)
    _save(fig, out)
