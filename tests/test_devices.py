"""Distribution strategies and precision: one-device mirroring, two CPU workers in lockstep, precision auto."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from dltool.config import compose, validate
from dltool.config.trainer import TrainerConfig
from dltool.errors import ConfigError
from dltool.training.devices import _strategy_name
from dltool.training.fit import train_run
from dltool.training.multi_worker import multi_worker_strategy

from .conftest import results, start_dltool

pytestmark = pytest.mark.xdist_group("test_devices")  # its module fixture trains once, on one worker

RUN = ["trainer.epochs=2", "data.max_samples=300", "callbacks.tensorboard.enabled=false"]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A single-device run (default strategy) of the config the distributed runs are compared with."""
    run_dir = tmp_path_factory.mktemp("default")
    res = train_run(validate(compose([*RUN, "trainer.strategy=default", "trainer.precision=auto"])), run_dir, False)
    assert res["strategy"] == "default" and res["precision"] == "float32"  # auto: float32 on this GPU-less machine
    return run_dir


def _metrics(run_dir: Path) -> dict[str, np.ndarray]:
    with (run_dir / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    return {key: np.array([float(r[key]) for r in rows]) for key in ("loss", "accuracy", "val_loss", "val_accuracy")}


def _files(run_dir: Path) -> set[str]:
    return {str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file()}


def _assert_same_training(run_dir: Path, reference: Path) -> None:
    got, expected = _metrics(run_dir), _metrics(reference)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, err_msg=key)


def test_mirrored_on_one_device_trains_like_the_default_strategy(tmp_path: Path, default_run: Path) -> None:
    res = train_run(validate(compose([*RUN, "trainer.strategy=mirrored"])), tmp_path, show_progress=False)
    assert res["strategy"] == "mirrored" and res["replicas"] == 1
    _assert_same_training(tmp_path, default_run)
    assert res["test_accuracy"] == pytest.approx(results(default_run)["test_accuracy"], abs=1e-6)
    assert _files(tmp_path) == _files(default_run)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_in_lockstep_and_only_the_chief_writes(tmp_path: Path, default_run: Path) -> None:
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers = [
        start_dltool(
            "train",
            "trainer.strategy=multi_worker",
            *RUN,
            f"hydra.run.dir={tmp_path / f'run{i}'}",  # the same command on both: worker 1's is replaced
            cwd=tmp_path,
            env={"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})},
        )
        for i in range(2)
    ]
    deadline = time.monotonic() + 300  # generous: on a loaded 2-core machine this took 25 to 80 s
    try:  # a worker whose peer is gone blocks in the strategy's constructor and ignores SIGTERM
        outputs = [w.communicate(timeout=max(1.0, deadline - time.monotonic()))[0] for w in workers]
    except subprocess.TimeoutExpired:
        pytest.fail("the two workers did not finish within 300 s")
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert [w.returncode for w in workers] == [0, 0], outputs
    chief = tmp_path / "run0"
    assert not (tmp_path / "run1").exists()
    res = results(chief)
    assert res["strategy"] == "multi_worker" and res["replicas"] == 2
    # Global batch split over two workers, gradients all-reduced: the same training as on one device...
    _assert_same_training(chief, default_run)
    assert _files(chief) - {"train.log"} - {f for f in _files(chief) if f.startswith(".hydra")} == _files(default_run)
    # ...and both workers end with the same test metrics (each prints its results table).
    rows = [
        [line.replace(" ", "").split("│")[1:3] for line in out.splitlines() if line.startswith("│ test_")]
        for out in outputs
    ]
    assert len(rows[0]) == 2 and rows[0] == rows[1]


def test_multi_worker_without_a_cluster_says_how_to_define_one(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TF_CONFIG", "SLURM_PROCID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match=r"trainer.strategy=multi_worker: no cluster found; set TF_CONFIG"):
        multi_worker_strategy()


@pytest.mark.parametrize(
    ("trainer", "message"),
    [
        (TrainerConfig(backend="jax", strategy="mirrored"), "a TensorFlow strategy, not for trainer.backend=jax"),
        (TrainerConfig(strategy="default", devices=[0, 1]), "trainer.strategy=default trains on one device"),
    ],
)
def test_strategies_that_cannot_apply_are_refused(trainer: TrainerConfig, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _strategy_name(trainer, 2)


def test_float16_compiles_with_loss_scaling() -> None:
    """Keras' compile wraps the optimizer in a LossScaleOptimizer under mixed_float16: no dltool code needed."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(optimizer="adam", loss="mse")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
