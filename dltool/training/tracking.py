"""Experiment tracking beyond the run directory: MLflow, switched on only by ``logger=mlflow`` (README,
"Looking inside training, and tracking").

One MLflow run per dltool run, ended with the status FINISHED, FAILED or KILLED; its id and store are kept
in the run directory's ``mlflow.json``, so ``resume=`` goes on with the same MLflow run. The default store
is SQLite with artifacts in ``mlruns/artifacts``: MLflow's file store is deprecated.

Example:
    dltool train logger=mlflow logger.experiment=digits
    mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db   # the UI: pip install mlflow
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dltool.config import RunConfig
from dltool.rundir import write_json

log = logging.getLogger("dltool")

DEFAULT_STORE = Path("mlruns")
SKIPPED = ("checkpoints/backup",)  # resume state: large and transient
RECORD = "mlflow.json"  # in the run directory: the MLflow run a resume goes on with


def flatten(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted.key, value)`` for every leaf of a nested dict (lists are leaves).

    >>> dict(flatten({"model": {"name": "mlp", "hidden_units": [64, 64]}, "name": None}))
    {'model.name': 'mlp', 'model.hidden_units': [64, 64], 'name': None}
    """
    for key, value in node.items():
        if isinstance(value, dict) and value:
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


class MLflowTracker:
    """The MLflow run of one dltool run: :meth:`start`, :meth:`log_epoch` per epoch, :meth:`finish`."""

    def __init__(self, run: RunConfig, run_dir: Path) -> None:
        self.cfg, self.run_dir = run.logger, Path(run_dir)
        self.resuming = run.resume is not None
        self.run_id: str | None = None

    def start(self, config: dict[str, Any]) -> None:
        """Open the run's MLflow run; a resumed dltool run reopens the one it started (``mlflow.json``)."""
        import mlflow

        record = self.run_dir / RECORD
        if self.resuming and record.is_file():
            saved = json.loads(record.read_text())
            mlflow.set_tracking_uri(saved["tracking_uri"])
            self.run_id = mlflow.start_run(run_id=saved["run_id"]).info.run_id
            mlflow.set_tag("dltool.resumed", "true")
            log.info("mlflow: resuming run %s at %s", self.run_id, saved["tracking_uri"])
            return
        given = self.cfg.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        if given:
            uri, artifacts = given, None
        else:
            DEFAULT_STORE.mkdir(exist_ok=True)
            uri = f"sqlite:///{(DEFAULT_STORE / 'mlflow.db').resolve()}"
            artifacts = (DEFAULT_STORE / "artifacts").resolve().as_uri()
        mlflow.set_tracking_uri(uri)
        client = mlflow.MlflowClient()
        experiment = client.get_experiment_by_name(self.cfg.experiment)
        experiment_id = (
            experiment.experiment_id
            if experiment is not None
            else client.create_experiment(self.cfg.experiment, artifact_location=artifacts)
        )
        active = mlflow.start_run(experiment_id=experiment_id, run_name=self.cfg.run_name or self.run_dir.name)
        self.run_id = active.info.run_id
        write_json(record, {"run_id": self.run_id, "tracking_uri": uri})
        mlflow.set_tag("dltool.run_dir", str(self.run_dir.resolve()))
        mlflow.log_params({k: "null" if v is None else v for k, v in flatten(config)})
        log.info("mlflow: run %s in experiment %s at %s", self.run_id, self.cfg.experiment, uri)

    def log_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        """Metrics of epoch ``epoch`` (1-based), the finite ones."""
        import mlflow

        mlflow.log_metrics({k: float(v) for k, v in logs.items() if math.isfinite(float(v))}, step=epoch)

    def finish(self, results: dict[str, Any] | None, status: str) -> None:
        """Final results as metrics, the run directory as artifacts, and the run's end with ``status``."""
        import mlflow

        try:
            final = {
                k: float(v)
                for k, v in (results or {}).items()
                if k.startswith(("test_", "best_val_", "final_")) and isinstance(v, int | float) and math.isfinite(v)
            }
            if final:
                mlflow.log_metrics(final)
            if self.cfg.log_artifacts:
                for path in sorted(self.run_dir.rglob("*")):
                    relative = path.relative_to(self.run_dir)
                    if path.is_file() and not str(relative).startswith(SKIPPED):
                        parent = str(relative.parent)
                        mlflow.log_artifact(str(path), None if parent == "." else parent)
        finally:
            mlflow.end_run(status)


def epoch_callback(tracker: MLflowTracker) -> Any:
    """A Keras callback sending each epoch's logs to ``tracker``."""
    import keras

    def log_epoch(epoch: int, logs: dict | None = None) -> None:
        tracker.log_epoch(epoch + 1, {k: keras.ops.convert_to_numpy(v) for k, v in (logs or {}).items()})

    return keras.callbacks.LambdaCallback(on_epoch_end=log_epoch)


_active: MLflowTracker | None = None


def start_tracking(run: RunConfig, run_dir: Path, config: dict[str, Any]) -> MLflowTracker | None:
    """Start the run's tracker (None with ``logger=none``); the training callbacks find it with :func:`active`."""
    global _active
    _active = None
    if run.logger.name != "mlflow":
        return None
    tracker = MLflowTracker(run, run_dir)
    tracker.start(config)
    _active = tracker
    return tracker


def active() -> MLflowTracker | None:
    """The tracker of the run being trained in this process, if any."""
    return _active


def stop_tracking(results: dict[str, Any] | None, status: str) -> None:
    """End the active tracker's run with ``status`` (FINISHED, FAILED or KILLED)."""
    global _active
    if _active is not None:
        tracker, _active = _active, None
        try:
            tracker.finish(results, status)
        except Exception as err:  # the run itself is saved: a tracking failure must not hide it
            log.warning("mlflow: could not finish run %s: %s: %s", tracker.run_id, type(err).__name__, err)
