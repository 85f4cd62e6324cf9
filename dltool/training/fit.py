"""One training run, config → data → model → fit → artifacts, written into its run directory.

Example:
    >>> results = train_run(validate(cfg), Path("outputs/2026-11-23/10-00-00"))  # doctest: +SKIP
    >>> results["status"], results["test_accuracy"]  # doctest: +SKIP
    ('completed', 0.97)
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from dltool.config import RunConfig
from dltool.errors import JobFailed

log = logging.getLogger("dltool")


def train_run(run: RunConfig, run_dir: Path, show_progress: bool = True) -> dict[str, Any]:
    """Train as configured and write every artifact of DESIGN §3 except ``.hydra/`` and ``train.log``.

    Returns the content of ``results.json``. Raises :class:`JobFailed` (after writing results.json
    with status ``failed``) when the loss stops being finite.
    """
    from dltool.training.devices import setup_devices

    started = datetime.now()
    info = setup_devices(run.trainer)  # before any tensor exists; validates trainer.devices

    import keras

    from dltool.data import load_dataset
    from dltool.models import model_spec
    from dltool.plots import plot_confusion_matrix, plot_history, plot_model_diagram, plot_reconstructions
    from dltool.training.artifacts import model_summary_text, versions, write_json
    from dltool.training.build import build_compiled_model, compile_model, param_counts, uses_one_hot_labels
    from dltool.training.callbacks import DeferredLogsCallbackList, build_callbacks
    from dltool.training.transfer import check_scheme, extract_features, start_phase_two

    seed = run.data.seed if run.data.seed is not None else run.trainer.seed
    data = load_dataset(run.data, seed)
    spec = model_spec(run.model, data.spec)
    if spec.task == "reconstruction":  # an autoencoder: the targets are the inputs
        data.y_train, data.y_val, data.y_test = data.x_train, data.x_val, data.x_test
    log.info(
        "data %s: %d train, %d validation, %d test examples of shape %s (%s)",
        run.data.name,
        len(data.x_train),
        len(data.x_val),
        len(data.x_test),
        spec.input_shape,
        spec.task,
    )

    transfer = run.model.name == "transfer"
    if transfer:
        check_scheme(run)
    with info.scope():
        model = build_compiled_model(run, spec)
    (run_dir / "model_summary.txt").write_text(model_summary_text(model))
    warning = plot_model_diagram(model, run_dir / "model.png")
    if warning:
        log.warning(warning)

    has_validation = len(data.x_val) > 0
    monitor = run.callbacks.monitor
    if not has_validation and monitor.startswith("val_"):
        log.warning(
            "no validation split (data.validation_split=0): monitoring %s instead of %s",
            monitor.removeprefix("val_"),
            monitor,
        )
        monitor = monitor.removeprefix("val_")
    steps = max(1, math.ceil(len(data.x_train) / run.trainer.batch_size))
    callbacks, checkpoint = build_callbacks(run, run_dir, monitor, steps, show_progress)

    one_hot = uses_one_hot_labels(run, spec)
    y_train, y_val, y_test = (
        _one_hot(y, spec.num_classes) if one_hot else y for y in (data.y_train, data.y_val, data.y_test)
    )
    full_model, extraction_s = model, None
    if transfer and run.model.feature_extraction:
        model, extraction_s = extract_features(model, data, run.trainer.batch_size)
        with info.scope():
            compile_model(model, run, spec)
        checkpoint.saved_model = full_model  # the head shares its weights: the checkpoints read images
    callback_list = DeferredLogsCallbackList(
        callbacks, add_history=True, model=model, verbose=0, epochs=run.trainer.epochs, steps=steps
    )

    def fit(first_epoch: int, last_epoch: int) -> list[int]:
        history = model.fit(
            data.x_train,
            y_train,
            validation_data=(data.x_val, y_val) if has_validation else None,
            initial_epoch=first_epoch,
            epochs=last_epoch,
            batch_size=run.trainer.batch_size,
            callbacks=callback_list,
            verbose=0,
        )
        return list(history.epoch)

    start = time.perf_counter()
    head_epochs = run.model.fine_tune.head_epochs if transfer else 0
    epochs = fit(0, head_epochs or run.trainer.epochs)
    if head_epochs and not model.stop_training:
        with info.scope():
            start_phase_two(model, run, spec, callbacks, first_epoch=len(epochs))
        epochs += fit(len(epochs), run.trainer.epochs)
    train_time = time.perf_counter() - start
    epochs_run = len(epochs)

    results: dict[str, Any] = {
        "status": "completed",
        "run_dir": str(run_dir),
        "task": spec.task,
        "monitor": monitor,
        "best_epoch": checkpoint.best_epoch,
        **{f"best_{k}": v for k, v in checkpoint.best_logs.items() if k.startswith("val_")},
        "epochs_run": epochs_run,
        "train_time_s": round(train_time, 3),
        "samples_per_s": round(len(data.x_train) * epochs_run / train_time, 1) if train_time > 0 else None,
        "params": param_counts(full_model),
        **({"feature_extraction_s": round(extraction_s, 3)} if extraction_s is not None else {}),
        **info.as_dict(),
        "jit_compile": bool(model.jit_compile),
        "seed": run.trainer.seed,
        "data": {
            "name": run.data.name,
            "train": len(data.x_train),
            "validation": len(data.x_val),
            "test": len(data.x_test),
            "input_shape": list(spec.input_shape),
            "class_names": list(spec.class_names) if spec.class_names else None,
        },
        "started_at": started.isoformat(timespec="seconds"),
        "versions": versions(),
    }
    guard = next((c for c in callbacks if hasattr(c, "failed_at")), None)
    if guard is not None and guard.failed_at is not None:
        epoch, step, loss = guard.failed_at
        results.update(status="failed", error=f"non-finite loss {loss} at epoch {epoch}, step {step}")
        results["finished_at"] = datetime.now().isoformat(timespec="seconds")
        write_json(run_dir / "results.json", results)
        raise JobFailed(f"{results['error']}; last good checkpoint: {checkpoint.last_path if epoch > 1 else 'none'}")

    if epochs_run and (run_dir / "metrics.csv").exists():
        plot_history(run_dir / "metrics.csv", run_dir / "history.png")
    if checkpoint.best_path.exists():
        full_model.load_weights(checkpoint.best_path)  # test metrics are those of the best checkpoint
    test = model.evaluate(data.x_test, y_test, batch_size=run.trainer.batch_size, return_dict=True, verbose=0)
    results.update({f"test_{k}": float(v) for k, v in test.items()})
    if spec.task in ("multiclass", "binary"):
        probabilities = keras.ops.convert_to_numpy(model.predict(data.x_test, batch_size=256, verbose=0))
        predicted = probabilities.argmax(-1) if spec.task == "multiclass" else (probabilities[:, 0] > 0.5)
        truth = data.y_test if spec.task == "multiclass" else data.y_test[:, 0]
        plot_confusion_matrix(
            truth.astype(int),
            predicted.astype(int),
            spec.class_names or (("0", "1") if spec.task == "binary" else None),
            run_dir / "confusion_matrix.png",
        )
    if spec.task == "reconstruction":
        shown = data.x_test[:8]
        plot_reconstructions(
            shown, keras.ops.convert_to_numpy(model.predict(shown, verbose=0)), run_dir / "reconstructions.png"
        )
    results["finished_at"] = datetime.now().isoformat(timespec="seconds")
    write_json(run_dir / "results.json", results)
    return results


def _one_hot(y: Any, num_classes: int) -> Any:
    import numpy as np

    return np.eye(num_classes, dtype="float32")[y]
