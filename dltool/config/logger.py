"""Schemas of the ``logger`` group: experiment tracking beyond the run directory (``dltool.tracking``)."""

from __future__ import annotations

from dataclasses import dataclass

from dltool.config.fields import opt
from dltool.config.registry import option


@dataclass
class LoggerConfig:
    name: str = opt(help="experiment tracker beyond the run directory; see `dltool list logger`")


@option("logger")
@dataclass
class NoLoggerConfig(LoggerConfig):
    """No experiment tracker: the run directory (metrics.csv, TensorBoard, results.json) is the record."""

    name: str = "none"


@option("logger")
@dataclass
class MLflowLoggerConfig(LoggerConfig):
    """MLflow tracking: the flattened config as params, each epoch's metrics, the run directory as artifacts
    (needs pip install 'dltool[mlflow]'; the web UI needs the full mlflow package).

    Switched on only by ``logger=mlflow`` (never because the package is installed).
    """

    name: str = "mlflow"
    tracking_uri: str | None = opt(
        None,
        "MLflow tracking URI (null: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db in the working directory)",
    )
    experiment: str = opt("dltool", "MLflow experiment the run goes to (created if needed)")
    run_name: str | None = opt(None, "MLflow run name (null: the run directory's name)")
    log_artifacts: bool = opt(True, "copy the run directory's files (not the resume backup) to the run's artifacts")
