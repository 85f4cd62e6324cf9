"""One training run, config → data → model → fit → artifacts, written into its run directory.

Example:
    >>> results = train_run(validate(cfg), Path("outputs/2026-11-23/10-00-00"))  # doctest: +SKIP
    >>> results["status"], results["test_accuracy"]  # doctest: +SKIP
    ('completed', 0.97)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dltool.config import RunConfig
from dltool.errors import ConfigError, Interrupted, JobFailed
from dltool.faults import fault_point
from dltool.plots import Painter, plot_confusion_matrix, plot_history, plot_model_diagram, plot_reconstructions
from dltool.rundir import write_json, write_text

log = logging.getLogger("dltool")


def announce_decisions(decisions: list[str]) -> None:
    """What loading decided on the user's behalf: once in the log, and on the terminal."""
    from dltool.console import console

    for decision in decisions:
        log.info("data: %s", decision)
        console.print(f"data: {decision}", highlight=False, soft_wrap=True)


def train_run(run: RunConfig, run_dir: Path, show_progress: bool = True) -> dict[str, Any]:
    """Train as configured and write every artifact of the run directory except ``.hydra/`` and ``train.log``.

    Returns the content of ``results.json``. Raises :class:`JobFailed` (after writing results.json
    with status ``failed``) when the loss stops being finite, :class:`Interrupted` (status
    ``interrupted``) after a Ctrl-C. With ``run.resume`` set, training goes on from the state
    backed up in ``run_dir/checkpoints/backup`` (:mod:`dltool.training.backup`).
    """
    from dltool.training.devices import setup_devices

    started = datetime.now()
    info = setup_devices(run.trainer)  # before any tensor exists; validates trainer.devices

    session = _prepare(run, run_dir, info, show_progress)
    painter = Painter()  # the figures are drawn beside the test evaluation; matplotlib loads during training
    try:
        session_time = _fit(run, info, session)
        results = _results(run, run_dir, info, session, started, session_time)
        if session.stop.reason is not None:
            _fail(run, run_dir, session, results)
        fault_point("evaluate")
        _evaluate(run, run_dir, session, results, painter)
        painter.wait()
    finally:
        painter.shutdown()
    results["finished_at"] = datetime.now().isoformat(timespec="seconds")
    write_json(run_dir / "results.json", results)
    return results


@dataclass
class Session:
    """What one training session works with, from its preparation to the evaluation of its best checkpoint."""

    data: Any  # dltool.data's Dataset
    spec: Any  # the ModelSpec
    model: Any  # the model trained (a transfer model's head during feature extraction)
    full_model: Any  # the model the checkpoints hold and the test set is evaluated with
    targets: tuple[Any, Any, Any]  # y of train, validation and test, one-hot where the loss needs it
    steps: int
    monitor: str
    stop: Any  # the RunStop shared by guards and savers
    checkpoint: Any
    callbacks: list[Any]
    callback_list: Any
    resume: Any  # the ResumeState callback
    first_epoch: int
    state: dict[str, Any] | None
    extraction_s: float | None


def _prepare(run: RunConfig, run_dir: Path, info: Any, show_progress: bool) -> Session:
    """Data, the compiled model, the callbacks, and the state restored on resume."""
    from dltool.training.backup import Backup, ResumeState
    from dltool.training.batches import steps_per_epoch
    from dltool.training.build import compile_model, uses_one_hot_labels
    from dltool.training.callbacks import build_callbacks
    from dltool.training.fine_tuning import check_scheme, extract_features
    from dltool.training.generation import add_generation_callbacks
    from dltool.training.guards import RunStop
    from dltool.training.progress import DeferredLogsCallbackList

    data, spec = _load_data(run)
    if run.model.name == "transfer":
        check_scheme(run)
    steps = steps_per_epoch(data.size("train"), run.trainer.batch_size)
    model = _build_model(run, run_dir, spec, steps, info)
    monitor = _monitor(run, data.size("val") > 0)
    stop = RunStop()
    callbacks, checkpoint = build_callbacks(
        run, run_dir, monitor, steps, show_progress, stop, (data.x_val, data.y_val), spec.class_names
    )
    if spec.task == "generation":  # a GAN: its sample grids, and a guard on its two losses
        add_generation_callbacks(callbacks, run, run_dir, stop)
    backup = Backup(run_dir / "checkpoints" / "backup")
    state = _restore(run, run_dir, model, backup)
    first_epoch = state["epoch"] if state else 0
    resume = ResumeState(
        backup, stop, checkpoint, callbacks, state, run.callbacks.backup_and_restore, planned_epochs=run.trainer.epochs
    )
    callbacks.append(resume)  # last: it saves what the others updated

    one_hot = uses_one_hot_labels(run, spec)
    targets = tuple(_one_hot(y, spec.num_classes) if one_hot else y for y in (data.y_train, data.y_val, data.y_test))
    full_model, extraction_s = model, None
    if run.model.name == "transfer" and run.model.feature_extraction:
        model, extraction_s = extract_features(model, data, run.trainer.batch_size)
        with info.scope():
            compile_model(model, run, spec, steps_per_epoch=steps)
        checkpoint.saved_model = full_model  # the head shares its weights: the checkpoints read images
    callback_list = DeferredLogsCallbackList(
        callbacks, add_history=True, model=model, verbose=0, epochs=run.trainer.epochs, steps=steps
    )
    _augmentation_preview(run, data.x_train, run_dir)
    return Session(
        data,
        spec,
        model,
        full_model,
        targets,
        steps,
        monitor,
        stop,
        checkpoint,
        callbacks,
        callback_list,
        resume,
        first_epoch,
        state,
        extraction_s,
    )


def _load_data(run: RunConfig) -> tuple[Any, Any]:
    """The run's data set and the model spec it implies (an autoencoder's targets are its inputs)."""
    from dltool.data import load_dataset
    from dltool.models import model_spec

    data = load_dataset(run.data, run.trainer.seed)
    spec = model_spec(run.model, data.spec)
    if spec.task == "reconstruction":  # an autoencoder: the targets are the inputs
        data.y_train, data.y_val, data.y_test = data.x_train, data.x_val, data.x_test
    log.info(
        "data %s: %d train, %d validation, %d test examples of shape %s (%s)",
        run.data.name,
        data.size("train"),
        data.size("val"),
        data.size("test"),
        spec.input_shape,
        spec.task,
    )
    announce_decisions(data.decisions)
    return data, spec


def _build_model(run: RunConfig, run_dir: Path, spec: Any, steps: int, info: Any) -> Any:
    """The compiled model, with model_summary.txt and model.png written."""
    from dltool.training.artifacts import model_summary_text
    from dltool.training.build import build_compiled_model

    with info.scope():
        try:
            model = build_compiled_model(run, spec, steps)
        except ValueError as err:  # Keras' shape checks: e.g. more pooling than the image has pixels
            raise ConfigError(
                f"model={run.model.name} cannot take the inputs of data={run.data.name} (shape {spec.input_shape}): "
                f"{' '.join(str(err).split())[:200]}"
            ) from None
    write_text(run_dir / "model_summary.txt", model_summary_text(model))
    warning = plot_model_diagram(model, run_dir / "model.png")
    if warning:
        log.warning(warning)
    return model


def _monitor(run: RunConfig, has_validation: bool) -> str:
    """``callbacks.monitor``, or its training counterpart when there is no validation split."""
    monitor = run.callbacks.monitor
    if not has_validation and monitor.startswith("val_"):
        log.warning(
            "no validation split (data.validation_split=0): monitoring %s instead of %s",
            monitor.removeprefix("val_"),
            monitor,
        )
        monitor = monitor.removeprefix("val_")
    return monitor


def _fit(run: RunConfig, info: Any, s: Session) -> float:
    """Train the epochs left (a transfer model's two phases in turn); return the session's training time."""
    from dltool.models.augment import mix_batches
    from dltool.training.batches import epoch_batches, feed
    from dltool.training.fine_tuning import start_phase_two

    data, (y_train, y_val, _) = s.data, s.targets

    def fit(first: int, last: int) -> None:
        batches, batch_steps = epoch_batches(
            data.x_train, y_train, run.trainer.batch_size, run.trainer.seed, (first, last)
        )
        batches = mix_batches(
            batches, run.regularization.augmentation, tuple(s.spec.input_shape), run.trainer.seed + first
        )
        s.model.fit(
            batches,
            steps_per_epoch=batch_steps,
            validation_data=feed(data.x_val, y_val, run.trainer.batch_size) if data.size("val") > 0 else None,
            epochs=last,
            initial_epoch=first,
            shuffle=False,  # epoch_batches sets the order
            callbacks=s.callback_list,
            verbose=0,
        )

    fault_point("start")
    start = time.perf_counter()
    head_epochs = run.model.fine_tune.head_epochs if run.model.name == "transfer" else 0
    if s.first_epoch < run.trainer.epochs and not _stopped_early(run, s.state):
        fit(s.first_epoch, head_epochs or run.trainer.epochs)
        if head_epochs and s.stop.reason is None and not s.model.stop_training:
            with info.scope():
                start_phase_two(s.model, run, s.spec, s.callbacks, s.resume.epochs_done, s.steps)
            fit(s.resume.epochs_done, run.trainer.epochs)
    return time.perf_counter() - start


def _results(
    run: RunConfig, run_dir: Path, info: Any, s: Session, started: datetime, session_time: float
) -> dict[str, Any]:
    """results.json's content, but for the test metrics and the time it was finished."""
    from dltool.training.artifacts import versions
    from dltool.training.build import param_counts
    from dltool.training.generation import generation_results

    data, checkpoint = s.data, s.checkpoint
    epochs_run = s.resume.epochs_done
    session_epochs = epochs_run - s.first_epoch
    generation = generation_results(s.model, run_dir, epochs_run) if s.spec.task == "generation" else {}
    return {
        "status": "completed",
        "run_dir": str(run_dir),
        "task": s.spec.task,
        "monitor": s.monitor,
        "best_epoch": checkpoint.best_epoch,
        **{f"best_{k}": v for k, v in checkpoint.best_logs.items() if k.startswith("val_")},
        "epochs_run": epochs_run,
        "resumed_from_epoch": s.first_epoch if run.resume else None,
        "train_time_s": round(s.resume.train_time_s, 3),
        "samples_per_s": round(data.size("train") * session_epochs / session_time, 1) if session_epochs else None,
        "params": param_counts(s.full_model),
        **({"feature_extraction_s": round(s.extraction_s, 3)} if s.extraction_s is not None else {}),
        **info.as_dict(),
        "jit_compile": bool(s.model.jit_compile),
        "seed": run.trainer.seed,
        "data": {
            "name": run.data.name,
            "train": data.size("train"),
            "validation": data.size("val"),
            "test": data.size("test"),
            "input_shape": list(s.spec.input_shape),
            "class_names": list(s.spec.class_names) if s.spec.class_names else None,
            "decisions": data.decisions,
        },
        "started_at": started.isoformat(timespec="seconds"),
        "versions": versions(),
        **generation,
    }


def _fail(run: RunConfig, run_dir: Path, s: Session, results: dict[str, Any]) -> None:
    """A guard stopped training: write results.json (interrupted or failed) and raise what the run ends with."""
    stop, epochs_run = s.stop, s.resume.epochs_done
    last_good = s.checkpoint.last_path if s.checkpoint.last_path.exists() else "none"
    interrupted = stop.reason == "interrupted"
    where = f"epoch {stop.epoch}" + (f", step {stop.step}" if stop.step else "")
    results.update(status="interrupted" if interrupted else "failed", error=f"{stop.reason} at {where}")
    results["finished_at"] = datetime.now().isoformat(timespec="seconds")
    write_json(run_dir / "results.json", results)
    if interrupted:
        raise Interrupted(
            f"stopped at {where}; {epochs_run} complete epochs saved; resume with: dltool train resume={run_dir}"
        )
    raise JobFailed(f"{results['error']}; last good checkpoint: {last_good}")


def _evaluate(run: RunConfig, run_dir: Path, s: Session, results: dict[str, Any], painter: Painter) -> None:
    """The best checkpoint's test metrics into ``results``, and the figures of the run directory (by ``painter``,
    but for those that call the model)."""
    import keras

    from dltool.plots.data import plot_decision_boundary
    from dltool.training.batches import feed

    data, spec, model, checkpoint = s.data, s.spec, s.model, s.checkpoint
    if s.resume.epochs_done and (run_dir / "metrics.csv").exists():
        painter.submit(plot_history, run_dir / "metrics.csv", run_dir / "history.png", checkpoint.best_epoch, s.monitor)
    if checkpoint.best_path.exists():
        s.full_model.load_weights(checkpoint.best_path)  # test metrics are those of the best checkpoint
    test = model.evaluate(
        *feed(data.x_test, s.targets[2], run.trainer.batch_size),
        batch_size=run.trainer.batch_size,
        return_dict=True,
        verbose=0,
    )
    results.update({f"test_{k}": float(v) for k, v in test.items()})
    if spec.task in ("multiclass", "binary"):
        probabilities = keras.ops.convert_to_numpy(
            model.predict(*feed(data.x_test, batch_size=256), batch_size=256, verbose=0)
        )
        predicted = probabilities.argmax(-1) if spec.task == "multiclass" else (probabilities[:, 0] > 0.5)
        truth = data.y_test if spec.task == "multiclass" else data.y_test[:, 0]
        painter.submit(
            plot_confusion_matrix,
            truth.astype(int),
            predicted.astype(int),
            spec.class_names or (("0", "1") if spec.task == "binary" else None),
            run_dir / "confusion_matrix.png",
        )
    if (spec.input_shape == (2,) and spec.task in ("multiclass", "binary")) or spec.task == "reconstruction":
        painter.wait()  # matplotlib from one thread at a time
    if spec.input_shape == (2,) and spec.task in ("multiclass", "binary"):  # the 2-D point sets
        plot_decision_boundary(
            lambda grid: model.predict(grid, batch_size=4096, verbose=0),
            data.x_train,
            data.y_train,
            run_dir / "decision_boundary.png",
            spec.class_names,
        )
    if spec.task == "reconstruction":
        shown = data.x_test[:8]
        plot_reconstructions(
            shown, keras.ops.convert_to_numpy(model.predict(shown, verbose=0)), run_dir / "reconstructions.png"
        )


def _augmentation_preview(run: RunConfig, x_train: Any, run_dir: Path) -> None:
    """``augmentation_preview.png``: a few training images and their augmented copies, when augmenting
    images (not the cached features of a feature-extraction run)."""
    from dltool.models.augment import augmentation_preview, wants_layers, wants_mixing
    from dltool.plots.data import plot_augmentation_preview

    aug = run.regularization.augmentation
    images = getattr(x_train, "ndim", None) == 4  # not the dicts of named inputs
    if not images or not (wants_layers(aug) or wants_mixing(aug)) or not len(x_train):
        return
    shown = x_train[:6]
    plot_augmentation_preview(
        shown,
        augmentation_preview(run.regularization, shown, seed=run.trainer.seed),
        run_dir / "augmentation_preview.png",
    )


def _restore(run: RunConfig, run_dir: Path, model: Any, backup: Any) -> dict[str, Any] | None:
    """On resume, load the backed-up state into ``model``, cut metrics.csv to the epochs it holds and drop the
    TensorBoard summaries of the epochs trained again."""
    from dltool.training.backup import truncate_metrics
    from dltool.training.monitoring import drop_replayed_events

    if not run.resume:
        return None
    state = backup.load()
    truncate_metrics(run_dir / "metrics.csv", state["metrics_rows"] if state else 0)
    if state is None:
        log.info("resume: no epoch was backed up yet; starting at epoch 1")
        return None
    backup.restore_model(model, state)
    drop_replayed_events(run_dir / "tensorboard", state["epoch"])
    if _stopped_early(run, state):
        log.info("resume: training stopped early after epoch %d; finishing the run", state["epoch"])
    else:
        log.info("resume: continuing after epoch %d (%s)", state["epoch"], backup.state_path)
    return state


def _stopped_early(run: RunConfig, state: dict[str, Any] | None) -> bool:
    """Whether the backed-up run had been ended by early stopping, and this resume does not extend it."""
    if not state or not state.get("stopped_early"):
        return False
    return run.trainer.epochs <= (state.get("planned_epochs") or run.trainer.epochs)


def _one_hot(y: Any, num_classes: int) -> Any:
    import numpy as np

    return np.eye(num_classes, dtype="float32")[y]
