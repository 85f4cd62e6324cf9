"""The run directory's figures: history marks the best epoch on whole epochs; confusion matrices come as counts
and normalised per true class, readable from 2 to 100 classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dltool.plots
from dltool.plots import history_figure, matrix_figure, plot_confusion_matrix
from tests.conftest import train_in_process

PNG = b"\x89PNG\r\n\x1a\n"
VAL_LOSS = [1.5, 0.7, 0.9]
ROWS = [
    {"epoch": str(e), "accuracy": "0.5", "loss": "1.0", "val_accuracy": "0.6", "val_loss": str(v), "lr": "0.001"}
    for e, v in zip((1, 2, 3), VAL_LOSS, strict=True)
]


def _labelled(ax, label: str) -> list:
    return [line for line in ax.get_lines() if line.get_label() == label]


def test_history_marks_the_best_epoch_on_whole_epochs() -> None:
    fig = history_figure(ROWS, best_epoch=2, monitor="val_loss")
    fig.canvas.draw()
    accuracy, loss = fig.axes
    for ax in (accuracy, loss):
        low, high = ax.get_xlim()
        assert [t for t in ax.get_xticks() if low <= t <= high] == [1, 2, 3]
        (line,) = _labelled(ax, "best epoch 2")
        assert list(line.get_xdata()) == [2, 2]
    (star,) = _labelled(loss, "best val_loss")
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (2, VAL_LOSS[1])
    assert not _labelled(accuracy, "best val_loss")


def test_history_without_a_best_epoch_has_no_mark() -> None:
    fig = history_figure(ROWS)
    assert not [line for ax in fig.axes for line in ax.get_lines() if "best" in str(line.get_label())]


def test_confusion_matrix_has_a_companion_normalised_per_true_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = {}
    draw = dltool.plots.matrix_figure

    def record(matrix: np.ndarray, names: list[str], title: str, unit: str):
        drawn[unit] = matrix
        return draw(matrix, names, title, unit)

    monkeypatch.setattr(dltool.plots, "matrix_figure", record)
    y_true, y_pred = np.array([0, 0, 0, 0, 1, 1]), np.array([0, 0, 0, 1, 1, 0])
    written = plot_confusion_matrix(y_true, y_pred, ["cat", "dog", "emu"], tmp_path / "confusion_matrix.png")
    assert [p.name for p in written] == ["confusion_matrix.png", "confusion_matrix_normalized.png"]
    assert all(p.read_bytes()[:8] == PNG for p in written)
    np.testing.assert_array_equal(drawn["examples"], [[3, 1, 0], [1, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(drawn["fraction of the true class"], [[0.75, 0.25, 0], [0.5, 0.5, 0], [0, 0, 0]])


@pytest.mark.parametrize(("classes", "values", "labels"), [(10, 100, 10), (20, 400, 20), (100, 0, 50)])
def test_confusion_matrix_stays_readable_up_to_100_classes(classes: int, values: int, labels: int) -> None:
    names = [f"class_{i}" for i in range(classes)]
    fig = matrix_figure(np.full((classes, classes), 1 / classes), names, "test split", "fraction of the true class")
    ax, colorbar = fig.axes
    assert colorbar.get_ylabel() == "fraction of the true class"
    assert len(ax.texts) == values  # the numbers in the cells, only while they fit
    assert len(ax.get_xticklabels()) == len(ax.get_yticklabels()) == labels
    assert max(fig.get_size_inches()) <= 17


def test_training_draws_the_runs_best_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marked = []
    draw = dltool.plots.history_figure

    def record(rows: list[dict[str, str]], best_epoch: int | None, monitor: str | None):
        marked.append((best_epoch, monitor))
        return draw(rows, best_epoch, monitor)

    monkeypatch.setattr(dltool.plots, "history_figure", record)
    res = train_in_process(tmp_path, "trainer.epochs=3", "data.max_samples=200", "callbacks.tensorboard.enabled=false")
    assert marked == [(res["best_epoch"], "val_loss")]
    for name in ("history.png", "confusion_matrix.png", "confusion_matrix_normalized.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG, name
