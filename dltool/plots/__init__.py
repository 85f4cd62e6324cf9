"""Figures of the run directory: history curves, confusion matrix, model diagram.

All drawing goes through matplotlib's non-interactive Agg backend (no display needed).

Example:
    >>> plot_history("outputs/.../metrics.csv", "history.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(metrics_csv: str | Path, out: str | Path) -> None:
    """Loss and metric curves, training vs validation, one panel per metric, from ``metrics.csv``."""
    import csv

    with open(metrics_csv) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    columns = [c for c in rows[0] if c not in ("epoch", "lr", "epoch_time_s") and not c.startswith("val_")]
    epochs = [int(r["epoch"]) for r in rows]
    plt = _pyplot()
    width = min(len(columns), 4)  # several outputs give many panels: rows of at most 4
    height = -(-len(columns) // width)
    fig, axes = plt.subplots(height, width, figsize=(5 * width, 3.8 * height), squeeze=False)
    for ax in axes.flat[len(columns) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, columns, strict=False):
        ax.plot(epochs, [float(r[name]) for r in rows], marker=".", label="train")
        if f"val_{name}" in rows[0]:
            ax.plot(epochs, [float(r[f"val_{name}"]) for r in rows], marker=".", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def plot_confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str] | None,
    out: str | Path,
    title: str = "test split",
) -> None:
    """scikit-learn's confusion-matrix display of test predictions."""
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    n = len(class_names) if class_names else int(max(y_true.max(), y_pred.max()) + 1)
    fig, ax = plt.subplots(figsize=(max(4, 0.5 * n + 2), max(4, 0.5 * n + 2)))
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=list(range(n)),
        display_labels=list(class_names) if class_names else None,
        ax=ax,
        colorbar=False,
        include_values=n <= 30,
    )
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def plot_reconstructions(inputs: np.ndarray, outputs: np.ndarray, out: str | Path) -> None:
    """Inputs (top row) above their reconstructions (bottom row): images as images, other shapes as curves."""
    plt = _pyplot()
    n = len(inputs)
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.4), squeeze=False)
    for row, (title, batch) in enumerate((("input", inputs), ("reconstruction", outputs))):
        for ax, example in zip(axes[row], batch, strict=True):
            if example.ndim == 3:
                image = example[..., 0] if example.shape[-1] == 1 else example
                ax.imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                ax.plot(example.reshape(-1))
                ax.tick_params(labelsize=6)
        axes[row][0].set_ylabel(title)
    fig.suptitle("test split")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def plot_image_grid(images: np.ndarray, out: str | Path, title: str = "") -> None:
    """``images`` (n, height, width, channels) in [0, 1] as a square grid, no axes (GAN samples)."""
    plt = _pyplot()
    n = len(images)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows + 0.3), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            image = images[i][..., 0] if images[i].shape[-1] == 1 else images[i]
            ax.imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def plot_model_diagram(model: Any, out: str | Path) -> str | None:
    """``model.png`` with shapes; returns a warning line if no Graphviz renderer was found.

    Uses Graphviz's ``dot`` when installed, else the pip-installed ``graphviz-pure`` binary; with
    neither, writes ``model.dot`` beside ``out`` instead.
    """
    out = Path(out)
    dot = model_dot(model)
    prog = graphviz_renderer()
    if prog is None:
        out.with_suffix(".dot").write_text(dot.to_string())
        return (
            f"no Graphviz renderer: wrote {out.with_suffix('.dot').name} instead of {out.name} "
            "(pip install graphviz-pure, or apt-get install graphviz)"
        )
    dot.write_png(str(out), prog=prog)
    return None


def model_dot(model: Any, max_nested_layers: int = 40) -> Any:
    """The pydot graph of ``model`` with shapes: every input and output, branches, shared layers (one
    node with an edge per call); nested models (sub-models of a graph) drawn expanded, layer by
    layer, when they hold at most ``max_nested_layers`` layers in all, else as one box each."""
    import keras

    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    expand = bool(nested) and sum(len(m.layers) for m in nested) <= max_nested_layers
    return keras.utils.model_to_dot(model, show_shapes=True, show_layer_names=True, expand_nested=expand, dpi=72)


def graphviz_renderer() -> str | None:
    """The program that renders ``model.png``: Graphviz's ``dot``, else ``graphviz-pure`` (beside this Python
    first, as a virtual environment installs it), else None."""
    candidate = Path(sys.executable).parent / "graphviz-pure"
    return shutil.which("dot") or (str(candidate) if candidate.exists() else shutil.which("graphviz-pure"))
