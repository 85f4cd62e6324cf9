"""Figures of the run directory: history curves, confusion matrix, model diagram.

All drawing goes through matplotlib's non-interactive Agg backend (no display needed).

Example:
    >>> plot_history("outputs/.../metrics.csv", "history.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import shutil
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class Painter:
    """Draws figures in one background thread, in the order given, while the caller goes on (training's
    last epoch, the test evaluation): matplotlib is then used from that thread alone. Its first job imports
    matplotlib, which a training step leaves time for.

    Example:
        >>> painter = Painter()
        >>> painter.submit(sum, [1, 2])
        >>> painter.wait()  # every job's answer, after the imports'; a failed job's error is raised here
        [None, 3]
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dltool-plots")
        self._jobs: list[Future] = []
        self.submit(_warm_up)

    def submit(self, draw: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._jobs.append(self._pool.submit(draw, *args, **kwargs))

    def wait(self) -> list[Any]:
        try:
            return [job.result() for job in self._jobs]
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Let the figure being drawn finish, drop those not started."""
        self._pool.shutdown(cancel_futures=True)


def _warm_up() -> None:
    _pyplot()
    import sklearn.metrics  # noqa: F401 -- the confusion matrix's


def plot_history(
    metrics_csv: str | Path, out: str | Path, best_epoch: int | None = None, monitor: str | None = None
) -> None:
    """``history_figure`` of ``metrics.csv``'s rows, saved to ``out`` (nothing when it has no row)."""
    import csv

    with open(metrics_csv) as f:
        rows = list(csv.DictReader(f))
    if rows:
        _save(history_figure(rows, best_epoch, monitor), out)


def history_figure(rows: list[dict[str, str]], best_epoch: int | None = None, monitor: str | None = None) -> Any:
    """Loss and metric curves, training vs validation, one panel per metric, from ``metrics.csv``'s rows, over
    whole epochs; ``best_epoch`` is a dashed line on every panel, and a star on ``monitor``'s own curve."""
    from matplotlib.ticker import MaxNLocator

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
        if best_epoch in epochs:
            _mark_best(ax, rows[epochs.index(best_epoch)], best_epoch, name, monitor)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def _save(fig: Any, out: str | Path) -> None:
    """Save ``fig`` as a PNG at 100 dpi and close it; a failed write (a full disk) raises an OSError naming ``out``."""
    from dltool.rundir import naming

    fig.tight_layout()
    with naming(out):
        fig.savefig(out, dpi=100)
    _pyplot().close(fig)


def _show_image(ax: Any, image: np.ndarray) -> None:
    """An image of values in [0, 1]; one channel is drawn grey."""
    grey = image.shape[-1] == 1
    ax.imshow(np.clip(image[..., 0] if grey else image, 0, 1), cmap="gray" if grey else None, vmin=0, vmax=1)


def _mark_best(ax: Any, row: dict[str, str], epoch: int, name: str, monitor: str | None) -> None:
    """The best epoch's dashed line; on the monitored metric's panel, a star at its best value too."""
    ax.axvline(epoch, color="grey", linestyle="--", linewidth=1, label=f"best epoch {epoch}")
    if monitor in row and monitor.removeprefix("val_") == name:
        value = float(row[monitor])
        ax.plot([epoch], [value], marker="*", markersize=14, color="crimson", linestyle="", label=f"best {monitor}")
        ax.annotate(f"{value:.4g}", (epoch, value), textcoords="offset points", xytext=(6, 6), color="crimson")


def plot_confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str] | None,
    out: str | Path,
    title: str = "test split",
) -> list[Path]:
    """The confusion matrix of test predictions at ``out``, and its row-normalised companion beside it
    (``<stem>_normalized.png``: each true class's row sums to 1); returns both paths."""
    from sklearn.metrics import confusion_matrix

    n = len(class_names) if class_names else int(max(y_true.max(), y_pred.max()) + 1)
    counts = confusion_matrix(y_true, y_pred, labels=list(range(n)))
    totals = counts.sum(axis=1, keepdims=True)
    rates = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)  # a class absent from the split: 0
    names = list(class_names) if class_names else [str(i) for i in range(n)]
    out = Path(out)
    normalized = out.with_name(f"{out.stem}_normalized{out.suffix}")
    _save(matrix_figure(counts, names, title, "examples"), out)
    _save(matrix_figure(rates, names, f"{title}, normalised per true class", "fraction of the true class"), normalized)
    return [out, normalized]


#: Above this many classes the cells are too small for numbers: colours and a colour bar say it.
MAX_ANNOTATED_CLASSES = 20


def matrix_figure(matrix: np.ndarray, names: list[str], title: str, unit: str) -> Any:
    """A confusion matrix (counts, or fractions in [0, 1] when ``matrix`` holds floats) with a colour bar in
    ``unit``, readable from 2 to 100+ classes: numbers in the cells up to 20 classes, fewer and smaller tick
    labels above, and a figure that grows with the classes up to 16 inches."""
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    n = len(names)
    annotated = n <= MAX_ANNOTATED_CLASSES
    fractions = matrix.dtype.kind == "f"
    side = min(16.0, max(5.0, 0.5 * n + 2.5 if annotated else 0.15 * n + 4))
    fig, ax = plt.subplots(figsize=(side + 1, side))
    display = ConfusionMatrixDisplay(matrix, display_labels=names)
    display.plot(
        ax=ax,
        include_values=annotated,
        values_format=".2f" if fractions else "d",
        colorbar=False,
        xticks_rotation="vertical" if n > 10 else "horizontal",
        im_kw={"vmin": 0.0, "vmax": 1.0} if fractions else {},
    )
    if not annotated:  # one label in every `step`, small, so that they do not overlap
        ticks = list(range(0, n, math.ceil(n / 50)))
        ax.set_xticks(ticks, [names[i] for i in ticks], fontsize=7, rotation=90)
        ax.set_yticks(ticks, [names[i] for i in ticks], fontsize=7)
    fig.colorbar(display.im_, ax=ax, fraction=0.046, pad=0.04, label=unit)
    ax.set_title(title)
    return fig


def plot_reconstructions(inputs: np.ndarray, outputs: np.ndarray, out: str | Path) -> None:
    """Inputs (top row) above their reconstructions (bottom row): images as images, other shapes as curves."""
    plt = _pyplot()
    n = len(inputs)
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.4), squeeze=False)
    for row, (title, batch) in enumerate((("input", inputs), ("reconstruction", outputs))):
        for ax, example in zip(axes[row], batch, strict=True):
            if example.ndim == 3:
                _show_image(ax, example)
                ax.set(xticks=[], yticks=[])
            else:
                ax.plot(example.reshape(-1))
                ax.tick_params(labelsize=6)
        axes[row][0].set_ylabel(title)
    fig.suptitle("test split")
    _save(fig, out)


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
            _show_image(ax, images[i])
    if title:
        fig.suptitle(title)
    _save(fig, out)


def plot_model_diagram(model: Any, out: str | Path) -> str | None:
    """``model.png`` with shapes (rendered by :func:`graphviz_renderer`); without a renderer, ``model.dot`` beside
    ``out`` instead and a warning line returned."""
    out = Path(out)
    dot = model_dot(model)
    prog = graphviz_renderer()
    if prog is None:
        out.with_suffix(".dot").write_text(dot.to_string())
        return (
            f"no Graphviz renderer: wrote {out.with_suffix('.dot').name} instead of {out.name} "
            "(pip install graphviz-pure, or apt-get install graphviz)"
        )
    from dltool.rundir import naming

    with naming(out):
        dot.write_png(str(out), prog=prog)
    return None


def model_dot(model: Any, max_nested_layers: int = 40) -> Any:
    """The pydot graph of ``model`` with shapes: every input and output, branches, shared layers (one
    node with an edge per call); nested models (sub-models of a graph) drawn expanded, layer by
    layer, when they hold at most ``max_nested_layers`` layers in all, else as one box each."""
    import keras

    from dltool.models.gan_model import GAN

    if isinstance(model, GAN):  # a subclassed model, which Keras draws as one box
        model = model.as_graph()
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    expand = bool(nested) and sum(len(m.layers) for m in nested) <= max_nested_layers
    return keras.utils.model_to_dot(model, show_shapes=True, show_layer_names=True, expand_nested=expand, dpi=72)


def graphviz_renderer() -> str | None:
    """The program that renders ``model.png``: Graphviz's ``dot``, else ``graphviz-pure`` (beside this Python
    first, as a virtual environment installs it), else None."""
    candidate = Path(sys.executable).parent / "graphviz-pure"
    return shutil.which("dot") or (str(candidate) if candidate.exists() else shutil.which("graphviz-pure"))
