"""End-to-end ``dltool`` runs on small real or generated data: the whole run directory."""

from __future__ import annotations

import csv
import json
import pickle
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import dltool_in_process, results, run_dirs, run_dltool

# xdist_group: the module fixture trains once, on one worker
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_e2e")]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("default")
    result = dltool_in_process("train", "trainer.epochs=5", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    (run_dir,) = run_dirs(root)
    return run_dir


def test_default_run_writes_the_whole_run_directory(default_run: Path) -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}", "/".join(default_run.parts[-2:]))
    for name in (
        ".hydra/config.yaml",
        ".hydra/overrides.yaml",
        "train.log",
        "metrics.csv",
        "model_summary.txt",
        "checkpoints/best.keras",
        "checkpoints/last.keras",
        "results.json",
    ):
        assert (default_run / name).stat().st_size > 0, name
    for name in ("model.png", "history.png", "confusion_matrix.png"):
        assert (default_run / name).read_bytes()[:8] == PNG, name
    assert "trainer.epochs=5" in (default_run / ".hydra" / "overrides.yaml").read_text()
    assert "Total params" in (default_run / "model_summary.txt").read_text()


def test_default_run_learns_digits(default_run: Path) -> None:
    res = results(default_run)
    assert res["status"] == "completed"
    assert res["test_accuracy"] >= 0.9
    assert res["epochs_run"] == 5 and 1 <= res["best_epoch"] <= 5
    assert res["params"] == {"trainable": 8970, "total": 8970}
    assert res["device"] == "cpu" and res["strategy"] == "default" and res["precision"] == "float32"
    assert res["seed"] == 42 and res["samples_per_s"] > 0 and "val_loss" in json.dumps(res)
    assert {"python", "tensorflow", "keras", "dltool"} <= set(res["versions"])


def test_metrics_csv_has_one_row_per_epoch(default_run: Path) -> None:
    with open(default_run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss", "lr", "epoch_time_s"]
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4, 5]
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert float(rows[0]["lr"]) == pytest.approx(0.001)


def test_tensorboard_events_hold_the_loss(default_run: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(default_run / "tensorboard" / "train"), size_guidance={"tensors": 0}).Reload()
    tags = events.Tags()
    assert "epoch_loss" in tags["tensors"] + tags["scalars"]
    assert len(events.Tensors("epoch_loss")) == 5


def test_checkpoints_load_in_safe_mode(default_run: Path) -> None:
    import keras

    model = keras.saving.load_model(default_run / "checkpoints" / "best.keras", safe_mode=True)
    assert model.output_shape == (None, 10)


def _write_cifar10_archive(folder: Path, per_batch: int = 40) -> None:
    """A CIFAR-10 archive in the real format (pickled batches in a tar.gz), with learnable colours."""
    rng = np.random.default_rng(0)
    members = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = rng.integers(0, 10, per_batch)
        images = rng.integers(0, 60, (per_batch, 3, 32, 32)) + (labels * 20)[:, None, None, None]
        members[name] = {b"data": images.reshape(per_batch, -1).astype(np.uint8), b"labels": labels.tolist()}
    members["batches.meta"] = {b"label_names": [f"class{i}".encode() for i in range(10)]}
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, content in members.items():
            path = folder / name
            path.write_bytes(pickle.dumps(content))
            tar.add(path, arcname=f"cifar-10-batches-py/{name}")


def test_resnet_on_cifar10_from_a_local_archive(tmp_path: Path) -> None:
    data_root = tmp_path / "cifar"
    data_root.mkdir()
    _write_cifar10_archive(data_root)
    result = dltool_in_process(
        "train",
        "model=resnet",
        "data=cifar10",
        f"data.root={data_root}",
        "trainer.epochs=2",
        "trainer.batch_size=32",
        "name=resnet_cifar",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (run_dir,) = run_dirs(tmp_path)
    assert run_dir.name.endswith("_resnet_cifar")
    res = results(run_dir)
    assert res["status"] == "completed" and res["epochs_run"] == 2
    assert res["data"]["class_names"][:2] == ["class0", "class1"] and res["data"]["test"] == 40
    assert round(res["params"]["total"] / 1e6, 2) == 0.27
    assert 0.0 <= res["test_accuracy"] <= 1.0


def test_multirun_writes_one_directory_per_job(tmp_path: Path) -> None:
    result = dltool_in_process(
        "train",
        "-m",
        "optimizer=sgd,rmsprop",
        "trainer.epochs=1",
        "data.max_samples=200",
        "callbacks.tensorboard.enabled=false",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    dirs = run_dirs(tmp_path)
    assert len(dirs) == 2 and all("multirun" in d.parts for d in dirs)
    assert sorted(json.loads((d / "results.json").read_text())["status"] for d in dirs) == ["completed"] * 2


def test_a_diverging_run_fails_with_exit_1(tmp_path: Path) -> None:
    result = dltool_in_process(
        "train", "data=function", "optimizer=sgd", "optimizer.learning_rate=1e6", "trainer.epochs=3", cwd=tmp_path
    )
    assert result.returncode == 1, result.stdout + result.stderr
    (run_dir,) = run_dirs(tmp_path)
    res = results(run_dir)
    assert res["status"] == "failed" and "non-finite loss" in res["error"] and "epoch 1" in res["error"]


def test_show_json_reports_resnet20_parameters(tmp_path: Path) -> None:
    result = dltool_in_process("show", "model=resnet", "model.depth=20", "data=cifar10", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert round(shown["params"]["total"] / 1e6, 2) == 0.27
    assert shown["config"]["model"]["depth"] == 20
    assert not (tmp_path / "outputs").exists()


def test_the_jax_backend_learns_digits_like_tensorflow(tmp_path: Path) -> None:
    result = run_dltool(
        "train", "trainer.backend=jax", "trainer.epochs=5", "callbacks.tensorboard.enabled=false", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (run_dir,) = run_dirs(tmp_path)
    res = results(run_dir)
    assert res["backend"] == "jax" and res["status"] == "completed"
    assert res["test_accuracy"] >= 0.9
    import keras

    assert keras.saving.load_model(run_dir / "checkpoints" / "best.keras").count_params() == 8970
