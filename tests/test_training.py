"""Training components: optimizers, schedules, losses per task, callbacks, and in-process runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from dltool.config import compose, validate
from dltool.config.optimizer import ScheduleConfig, SGDConfig
from dltool.config.schemas import SCHEMAS
from dltool.data import DataSpec
from dltool.errors import ConfigError
from dltool.training.backend import select_backend
from dltool.training.build import loss_and_metrics, uses_one_hot_labels
from dltool.training.callbacks import build_callbacks
from dltool.training.checkpoints import Checkpoint, MetricsCSV, monitor_mode
from dltool.training.devices import _choose_gpus, _visible_choice
from dltool.training.guards import NonFiniteLossGuard
from dltool.training.optimizers import build_optimizer, epoch_learning_rate
from dltool.training.progress import DeferredLogsCallbackList
from tests.conftest import train_in_process


@pytest.mark.parametrize("name", sorted(SCHEMAS["optimizer"]))
def test_every_optimizer_builds_with_its_arguments(name: str) -> None:
    run = validate(compose([f"optimizer={name}", "optimizer.learning_rate=0.02", "optimizer.clipnorm=1.0"]))
    optimizer = build_optimizer(run.optimizer)
    assert f"keras.optimizers.{type(optimizer).__name__}" == SCHEMAS["optimizer"][name]._target_
    assert float(optimizer.learning_rate) == pytest.approx(0.02)
    assert optimizer.clipnorm == 1.0


def test_nesterov_option_sets_momentum_and_nesterov() -> None:
    optimizer = build_optimizer(validate(compose(["optimizer=nesterov"])).optimizer)
    assert optimizer.momentum == 0.9 and optimizer.nesterov is True


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (ScheduleConfig(name="step", step_size=2, decay_rate=0.5), [1.0, 1.0, 0.5, 0.5, 0.25]),
        (ScheduleConfig(name="exponential", decay_rate=0.5), [1.0, 0.5, 0.25, 0.125, 0.0625]),
        (ScheduleConfig(name="cosine", min_learning_rate=0.0), [1.0, 0.8535534, 0.5, 0.1464466, 0.0]),
        (ScheduleConfig(name="constant", warmup_epochs=2), [1 / 3, 2 / 3, 1.0, 1.0, 1.0]),
    ],
)
def test_epoch_schedules(schedule: ScheduleConfig, expected: list[float]) -> None:
    cfg = SGDConfig(learning_rate=1.0, schedule=schedule)
    got = [epoch_learning_rate(cfg, epoch, total_epochs=5) for epoch in range(5)]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    ("task", "smoothing", "loss", "metrics", "one_hot"),
    [
        ("multiclass", 0.0, "SparseCategoricalCrossentropy", ["accuracy"], False),
        ("multiclass", 0.1, "CategoricalCrossentropy", ["accuracy"], True),
        ("binary", 0.1, "BinaryCrossentropy", ["accuracy"], False),
        ("regression", 0.0, "MeanSquaredError", ["mae"], False),
    ],
)
def test_loss_and_metrics_follow_the_task(task, smoothing, loss, metrics, one_hot) -> None:
    run = validate(compose([f"regularization.label_smoothing={smoothing}"]))
    spec = DataSpec(input_shape=(4,), task=task, num_classes=3 if task == "multiclass" else 1)
    got_loss, got_metrics = loss_and_metrics(run, spec)
    assert type(got_loss).__name__ == loss and got_metrics == metrics
    assert uses_one_hot_labels(run, spec) is one_hot
    if smoothing:
        assert got_loss.get_config()["label_smoothing"] == pytest.approx(smoothing)


def test_monitor_mode() -> None:
    assert monitor_mode("val_accuracy") == "max" and monitor_mode("val_loss") == "min"
    assert monitor_mode("mae") == "min"


def test_monitor_mode_follows_the_direction_keras_metrics_declare() -> None:
    assert monitor_mode("val_r2_score") == "max" and monitor_mode("cosine_similarity") == "max"
    assert monitor_mode("val_kl_divergence") == "min" and monitor_mode("val_age_loss") == "min"
    assert monitor_mode("val_acc") == "max" and monitor_mode("val_gender_accuracy") == "max"


def test_a_monitor_keras_cannot_orient_is_a_config_error(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0)
    checkpoint = Checkpoint(tmp_path, monitor="val_mea", mode="auto", save_best=True, save_last=False)
    checkpoint.set_model(model)
    with pytest.raises(
        ConfigError, match=r"^callbacks.monitor=val_mea: .*\(did you mean val_mae\?\); set callbacks.mode"
    ):
        checkpoint.on_train_batch_end(0)
    explicit = Checkpoint(tmp_path, monitor="val_mea", mode="max", save_best=True, save_last=False)
    explicit.set_model(model)
    explicit.on_train_batch_end(0)
    assert explicit.monitor_op is not None


def test_gpu_choice_errors_name_the_key() -> None:
    assert _choose_gpus("cpu", 2) == [] and _choose_gpus("auto", 2) == [0, 1] and _choose_gpus([1], 2) == [1]
    with pytest.raises(ConfigError, match=r"trainer.devices=gpu: no GPU"):
        _choose_gpus("gpu", 0)
    with pytest.raises(ConfigError, match=r"trainer.devices=\[0, 3\]: GPU 3 does not exist"):
        _choose_gpus([0, 3], 2)


def test_gpu_lists_for_jax_and_torch_are_checked_after_masking() -> None:
    assert _visible_choice([2, 3], 2) == [0, 1]
    with pytest.raises(ConfigError, match=r"trainer.devices=\[2, 3\]: only 1 of these GPUs exist"):
        _visible_choice([2, 3], 1)


def test_a_second_backend_in_one_process_is_refused() -> None:
    run = validate(compose(["trainer.backend=jax"]))
    with pytest.raises(ConfigError, match=r"trainer.backend=jax: this process already runs Keras on tensorflow"):
        select_backend(run.trainer)


def _tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_metrics_csv_orders_columns_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    callback = MetricsCSV(path)
    for epoch in range(2):
        callback.on_epoch_end(epoch, {"val_loss": 2.0, "loss": 1.0, "epoch_time_s": 0.5, "mae": 0.1, "lr": 0.01})
    MetricsCSV(path).on_epoch_end(2, {"loss": 0.5, "mae": 0.1, "val_loss": 1.5, "lr": 0.01, "epoch_time_s": 0.4})
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "lr", "epoch_time_s"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"] and rows[3][1] == "0.5"
    # the bytes of earlier versions' files, which resumed runs append to
    assert path.read_bytes().startswith(b"epoch,loss,mae,val_loss,lr,epoch_time_s\n1,1.0,0.1,2.0,0.01,0.5\r\n2,")


def test_checkpoint_keeps_the_best_epoch_and_the_last(tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path, monitor="val_loss", mode="auto", save_best=True, save_last=True)
    checkpoint.set_model(_tiny_model())
    for epoch, value in enumerate([3.0, 1.0, 2.0]):
        checkpoint.on_epoch_end(epoch, {"val_loss": value})
    assert checkpoint.best_epoch == 2 and checkpoint.best_value == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras", "last.keras"]  # no temporary left
    assert keras.saving.load_model(tmp_path / "best.keras", safe_mode=True).count_params() == 3


def test_checkpoint_and_early_stopping_agree_on_which_way_a_metric_improves(tmp_path: Path) -> None:
    """R2 goes up (Keras' R2Score says so), though its name has none of the words of an accuracy."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["r2_score"])
    x = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    model.fit(x, x[:, :1], epochs=1, verbose=0)  # builds the compiled metrics, as fit does before any epoch ends
    checkpoint = Checkpoint(tmp_path, monitor="val_r2_score", mode="auto", save_best=True, save_last=False)
    stopping = keras.callbacks.EarlyStopping(monitor="val_r2_score", mode="auto", patience=5)
    for callback in (checkpoint, stopping):
        callback.set_model(model)
        callback.on_train_begin()
    for epoch, value in enumerate([0.2, 0.6, 0.4]):
        for callback in (checkpoint, stopping):
            callback.on_epoch_end(epoch, {"val_r2_score": value})
    assert stopping.best == 0.6 and stopping.best_epoch == 1  # Keras counts epochs from 0
    assert checkpoint.best_value == 0.6 and checkpoint.best_epoch == 2


class _Probe(keras.callbacks.Callback):
    def __init__(self, deferred: bool) -> None:
        super().__init__()
        self.deferred_logs = deferred
        self.seen: list[type] = []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.seen.append(type(logs["loss"]))


def test_batch_logs_reach_deferred_callbacks_unconverted() -> None:
    """Keras converts batch logs (a device sync per step); our list must skip that for deferred callbacks.

    If a Keras upgrade renames the hook this overrides, the deferred probe sees floats and this fails.
    """
    model = _tiny_model()
    deferred, plain = _Probe(deferred=True), _Probe(deferred=False)
    callbacks = DeferredLogsCallbackList([deferred, plain], add_history=True, model=model, epochs=1, steps=4)
    model.fit(np.zeros((8, 2)), np.zeros((8, 1)), batch_size=2, epochs=1, verbose=0, callbacks=callbacks)
    assert len(deferred.seen) == len(plain.seen) == 4
    assert all(t is float for t in plain.seen)
    assert not any(t is float for t in deferred.seen)


class _OldStyleProbe(keras.callbacks.Callback):
    """Implements ``on_batch_end``, which Keras' ``on_train_batch_end`` calls (as ``TerminateOnNaN`` does)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.seen.append(batch)


def test_callbacks_implementing_on_batch_end_are_called_at_every_step() -> None:
    model = _tiny_model()
    probe, nan_guard = _OldStyleProbe(), keras.callbacks.TerminateOnNaN()
    callbacks = DeferredLogsCallbackList([probe, nan_guard], add_history=True, model=model, epochs=3, steps=4)
    x = np.zeros((8, 2))
    model.fit(x, np.full((8, 1), np.inf), batch_size=2, epochs=3, verbose=0, callbacks=callbacks)
    assert probe.seen == [0]  # Keras' TerminateOnNaN stopped training after the first step's infinite loss


def test_non_finite_loss_guard_stops_and_says_where() -> None:
    guard = NonFiniteLossGuard(check_every_s=0.0)
    guard.set_model(_tiny_model())
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"loss": 1.0})
    assert guard.failed_at is None and not guard.model.stop_training
    guard.on_train_batch_end(4, {"loss": float("inf")})
    assert guard.failed_at == (3, 5, float("inf")) and guard.model.stop_training


def test_user_callbacks_are_instantiated_from_their_import_path(tmp_path: Path) -> None:
    run = validate(compose(["callbacks.custom=[{_target_: keras.callbacks.CSVLogger, filename: extra.csv}]"]))
    callbacks, _ = build_callbacks(run, tmp_path, "val_loss", steps_per_epoch=3, show_progress=False)
    names = [type(c).__name__ for c in callbacks]
    assert "CSVLogger" in names and "EarlyStopping" in names and "TensorBoard" in names
    assert "RichProgress" not in names


def _train(tmp_path: Path, *overrides: str) -> dict:
    return train_in_process(tmp_path, "trainer.epochs=2", "callbacks.tensorboard.enabled=false", *overrides)


@pytest.mark.parametrize(
    ("overrides", "metric"),
    [
        (["data=xor", "model.hidden_units=[8]"], "test_accuracy"),
        (["data=function", "model.hidden_units=[16]"], "test_mae"),
        (["data=blobs", "data.validation_split=0", "model=perceptron"], "test_accuracy"),
        (["regularization=label_smoothing", "data.max_samples=300"], "test_accuracy"),
        (["trainer.precision=mixed_bfloat16", "data.max_samples=300", "regularization=batch_norm"], "test_accuracy"),
        (
            [
                "optimizer=sgd",
                "optimizer.schedule.name=cosine",
                "callbacks.reduce_lr_on_plateau.enabled=true",
                "data.max_samples=300",
            ],
            "test_accuracy",
        ),
    ],
)
def test_in_process_runs_complete_for_each_task(tmp_path: Path, overrides: list[str], metric: str) -> None:
    res = _train(tmp_path, *overrides)
    assert res["status"] == "completed" and np.isfinite(res[metric])
    assert json.loads((tmp_path / "results.json").read_text())[metric] == res[metric]
    assert (tmp_path / "checkpoints" / "best.keras").exists()


def test_without_validation_the_training_loss_is_monitored(tmp_path: Path) -> None:
    res = _train(tmp_path, "data=blobs", "data.validation_split=0")
    assert res["monitor"] == "loss"


def test_mixed_precision_is_recorded_and_keeps_a_float32_head(tmp_path: Path) -> None:
    res = _train(tmp_path, "trainer.precision=mixed_bfloat16", "data.max_samples=200")
    assert res["precision"] == "mixed_bfloat16"
    model = keras.saving.load_model(tmp_path / "checkpoints" / "last.keras")
    assert model.get_layer("output").compute_dtype == "float32"
    assert model.get_layer("hidden1").compute_dtype == "bfloat16"


def test_learning_rate_schedule_reaches_metrics_csv(tmp_path: Path) -> None:
    _train(
        tmp_path,
        "optimizer=sgd",
        "optimizer.learning_rate=0.1",
        "optimizer.schedule.name=step",
        "optimizer.schedule.step_size=1",
        "optimizer.schedule.decay_rate=0.5",
        "data.max_samples=200",
    )
    with open(tmp_path / "metrics.csv") as f:
        assert [float(r["lr"]) for r in csv.DictReader(f)] == [0.1, 0.05]


def test_one_cycle_schedule_changes_per_step_and_travels_with_the_checkpoint(tmp_path: Path) -> None:
    _train(
        tmp_path,
        "optimizer=sgd",
        "optimizer.learning_rate=0.1",
        "optimizer.schedule.name=one_cycle",
        "optimizer.schedule.warmup_epochs=1",
        "data.max_samples=200",
        "trainer.batch_size=50",
    )
    with open(tmp_path / "metrics.csv") as f:  # end of the warm-up, then the end of the cosine
        assert [float(r["lr"]) for r in csv.DictReader(f)] == [0.1, 0.0]
    optimizer = keras.saving.load_model(tmp_path / "checkpoints" / "last.keras").optimizer
    schedule = optimizer._learning_rate  # the schedule object itself: a resumed run goes on from its step
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    steps = int(optimizer.iterations.numpy())
    assert steps == 2 * schedule.warmup_steps and float(schedule(steps // 2 + steps // 4)) < 0.1


def test_device_resident_training_arrays_give_the_same_batches() -> None:
    import jax

    from dltool.data.base import take
    from dltool.data.images import ImageFiles
    from dltool.training.batches import device_resident

    x = {"image": np.arange(40.0).reshape(10, 2, 2), "label": np.arange(10)}
    assert device_resident(x) is x  # this CPU: no accelerator memory to use
    on_device = device_resident(x, force=True)
    assert all(isinstance(v, jax.Array) for v in on_device.values())
    rows = np.array([7, 0, 3])
    for name, batch in take(on_device, rows).items():
        np.testing.assert_array_equal(np.asarray(batch), x[name][rows])
    files = ImageFiles(["a.png"], (4, 4), 3)
    assert device_resident(files, force=True) is files
