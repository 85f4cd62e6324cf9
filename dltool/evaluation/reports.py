"""The files of ``eval/<timestamp>/`` that describe predictions: per-class report, figures.

Example:
    >>> write_reports(out_dir, spec, x_test, y_test, outputs, "test", worst=16)  # doctest: +SKIP
    ['classification_report.txt', 'confusion_matrix.png', 'confusion_matrix_normalized.png', 'worst_examples.png']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dltool.data import DataSpec
from dltool.evaluation.metrics import class_probabilities, predicted_labels, true_labels
from dltool.plots import plot_confusion_matrix
from dltool.plots.evaluation import plot_examples, plot_residuals, plot_roc_pr


def class_names(spec: DataSpec) -> list[str]:
    """The names of the classes, or their indices when the dataset has none."""
    if spec.class_names:
        return list(spec.class_names)
    return ["0", "1"] if spec.task == "binary" else [str(i) for i in range(spec.num_classes)]


def write_reports(
    out_dir: Path, spec: DataSpec, x: np.ndarray, y: np.ndarray, outputs: np.ndarray, split: str, worst: int
) -> list[str]:
    """Write the reports of the task into ``out_dir``; return the file names written."""
    if spec.task == "regression":
        plot_residuals(y, outputs, out_dir / "residuals.png")
        return ["residuals.png"]
    from sklearn.metrics import classification_report

    names = class_names(spec)
    truth, predicted = true_labels(spec.task, y), predicted_labels(spec.task, outputs)
    report = classification_report(
        truth, predicted, labels=list(range(len(names))), target_names=names, digits=4, zero_division=0
    )
    (out_dir / "classification_report.txt").write_text(f"{split} split, {len(truth)} examples\n\n{report}")
    figures = plot_confusion_matrix(truth, predicted, names, out_dir / "confusion_matrix.png", title=f"{split} split")
    written = ["classification_report.txt", *(path.name for path in figures)]
    if spec.task == "binary" and len(np.unique(truth)) == 2:
        plot_roc_pr(truth, outputs[:, 0], out_dir / "roc_curve.png", out_dir / "precision_recall_curve.png")
        written += ["roc_curve.png", "precision_recall_curve.png"]
    if worst and len(spec.input_shape) == 3:
        confidence = class_probabilities(spec.task, outputs)[np.arange(len(truth)), truth]
        order = np.argsort(confidence, kind="stable")[:worst]
        captions = [f"true {names[truth[i]]}, got {names[predicted[i]]}\np(true)={confidence[i]:.2f}" for i in order]
        plot_examples(x[order], captions, out_dir / "worst_examples.png", f"{len(order)} worst examples, {split} split")
        written.append("worst_examples.png")
    return written
