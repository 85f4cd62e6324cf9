"""logger=mlflow: an explicit opt-in that leaves a run MLflow's own client can read."""

from __future__ import annotations

import csv
import importlib.util

import pytest

from dltool.config import compose, validate
from dltool.errors import ConfigError
from tests.conftest import dltool_in_process, results, run_dirs

needs_mlflow = pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="pip install 'dltool[mlflow]'")


def test_no_tracker_unless_asked() -> None:
    assert validate(compose([])).logger.name == "none"
    run = validate(compose(["logger=mlflow", "logger.experiment=lab"]))
    assert run.logger.experiment == "lab" and run.logger.tracking_uri is None


def test_missing_package_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(ConfigError, match=r"logger=mlflow: .* pip install 'dltool\[mlflow\]'"):
        validate(compose(["logger=mlflow"]))


def test_run_saved_before_loggers_validates() -> None:
    from omegaconf import OmegaConf

    cfg = compose([])
    saved = OmegaConf.create({k: v for k, v in OmegaConf.to_container(cfg).items() if k != "logger"})
    assert validate(saved).logger.name == "none"


@needs_mlflow
@pytest.mark.e2e
def test_mlflow_run_is_readable_by_mlflow_client(workdir) -> None:
    from mlflow import MlflowClient

    result = dltool_in_process(
        "train", "logger=mlflow", "logger.experiment=cookbook", "trainer.epochs=2", "data.max_samples=100",
        "model.hidden_units=[8]", "callbacks.tensorboard.enabled=false", cwd=workdir,
        env={"MLFLOW_TRACKING_URI": ""},  # the default store, whatever the environment says
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_dirs(workdir)
    client = MlflowClient(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}")
    (found,) = client.search_runs([client.get_experiment_by_name("cookbook").experiment_id])
    assert found.info.status == "FINISHED" and found.info.run_name == run_dir.name
    params = found.data.params
    assert params["model.name"] == "mlp" and params["model.hidden_units"] == "[8]"
    assert params["trainer.epochs"] == "2" and params["optimizer.name"] == "adam"
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    history = client.get_metric_history(found.info.run_id, "val_loss")
    assert [m.step for m in history] == [1, 2]
    assert [m.value for m in history] == pytest.approx([float(r["val_loss"]) for r in rows])
    assert found.data.metrics["test_accuracy"] == pytest.approx(results(run_dir)["test_accuracy"])
    artifacts = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert {"metrics.csv", "results.json", "checkpoints", "train.log"} <= artifacts
    assert "checkpoints/backup" not in {a.path for a in client.list_artifacts(found.info.run_id, "checkpoints")}
    # a resume goes on with the same MLflow run: one run, one point per epoch
    result = dltool_in_process(
        "train", f"resume={run_dir}", "trainer.epochs=3", cwd=workdir, env={"MLFLOW_TRACKING_URI": ""}
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (again,) = client.search_runs([client.get_experiment_by_name("cookbook").experiment_id])
    assert again.info.run_id == found.info.run_id and again.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(found.info.run_id, "val_loss")] == [1, 2, 3]
    assert again.data.tags["dltool.resumed"] == "true"
