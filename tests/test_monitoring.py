"""Callbacks of callbacks.*: activation logger, embeddings projector, LambdaCallback, RemoteMonitor, EMA weights."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from dltool.config import compose, validate
from dltool.errors import ConfigError
from dltool.training.callbacks import build_callbacks
from dltool.training.fit import train_run
from dltool.training.optimizers import build_optimizer
from tests.conftest import checked, train_in_process

TINY = ["trainer.epochs=2", "data.max_samples=120", "model.hidden_units=[16,8]", "trainer.batch_size=32"]


def _train(tmp_path: Path, *overrides: str) -> dict:
    return train_in_process(tmp_path, *TINY, *overrides)


def test_activations_projector_and_histograms_are_written(tmp_path: Path) -> None:
    from google.protobuf import text_format
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins import projector

    results = _train(
        tmp_path,
        "callbacks.activation_logger.enabled=true",
        "callbacks.activation_logger.samples=5",
        "callbacks.tensorboard.histogram_freq=1",
        "callbacks.tensorboard.embeddings_layer=hidden2_act",
        "callbacks.tensorboard.embeddings_samples=7",
    )
    assert results["status"] == "completed"
    for epoch in (1, 2):
        saved = np.load(tmp_path / "activations" / f"epoch_{epoch:03d}.npz")
        assert set(saved.files) == {"hidden1", "hidden1_act", "hidden2", "hidden2_act", "output", "flatten"}
        assert saved["hidden1"].shape == (5, 16) and saved["output"].shape == (5, 10)
        np.testing.assert_allclose(saved["output"].sum(axis=1), 1.0, rtol=1e-5)  # softmax rows
        assert saved["hidden2_act"].min() >= 0.0  # after the ReLU
    first, second = (np.load(tmp_path / "activations" / f"epoch_{e:03d}.npz")["hidden1"] for e in (1, 2))
    assert not np.allclose(first, second)  # recorded after each epoch's training, not once

    events = EventAccumulator(str(tmp_path / "tensorboard" / "activations"), size_guidance={"tensors": 0})
    events.Reload()
    assert "hidden1_act" in events.Tags()["tensors"]
    assert [e.step for e in events.Tensors("hidden1_act")] == [1, 2]
    weights = EventAccumulator(str(tmp_path / "tensorboard" / "train"), size_guidance={"tensors": 0})
    weights.Reload()
    assert any("hidden1" in tag and "kernel" in tag for tag in weights.Tags()["tensors"])  # weight histograms

    folder = tmp_path / "tensorboard" / "projector"
    config = text_format.Parse((folder / "projector_config.pbtxt").read_text(), projector.ProjectorConfig())
    (embedding,) = config.embeddings
    assert embedding.tensor_name == "hidden2_act" and list(embedding.tensor_shape) == [7, 8]
    assert np.loadtxt(folder / embedding.tensor_path).shape == (7, 8)
    labels = (folder / embedding.metadata_path).read_text().splitlines()
    assert len(labels) == 7 and set(labels) <= set("0123456789")
    assert list(folder.glob("events.out.tfevents.*"))  # so that TensorBoard lists it as a run


def test_unknown_layer_is_one_line_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"embeddings_layer=hiden2: no such layer \(did you mean hidden2\?\)"):
        _train(tmp_path, "trainer.epochs=1", "callbacks.tensorboard.embeddings_layer=hiden2")


def test_lambda_callback_templates_and_targets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _train(
        tmp_path,
        "callbacks.lambda_callback.on_epoch_end='epoch {epoch}: val_loss {val_loss:.3f}'",
        "callbacks.lambda_callback.on_train_end='done, loss {loss:.2f}'",
    )
    out = capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    for row in rows:
        assert f"epoch {row['epoch']}: val_loss {float(row['val_loss']):.3f}" in out
    assert "done, loss " in out


def test_lambda_callback_refuses_attribute_access_and_bad_targets() -> None:
    with pytest.raises(ConfigError, match=r"lambda_callback.on_epoch_end=.*only plain names"):
        validate(compose(["callbacks.lambda_callback.on_epoch_end='{loss.__class__}'"]))
    with pytest.raises(ConfigError, match=r"lambda_callback.on_train_end._target_=os.nope: cannot be imported"):
        checked(compose(["callbacks.lambda_callback.on_train_end={_target_: os.nope}"]))
    with pytest.raises(ConfigError, match="not allowed by allowed_targets"):
        validate(compose(["callbacks.lambda_callback.on_train_end={_target_: os.getcwd}", "allowed_targets=[keras.]"]))


def test_lambda_callback_calls_a_target(tmp_path: Path) -> None:
    run = validate(compose(["callbacks.lambda_callback.on_epoch_end={_target_: json.dumps}"]))
    callbacks, _ = build_callbacks(run, tmp_path, "val_loss", steps_per_epoch=1, show_progress=False)
    (lam,) = [c for c in callbacks if isinstance(c, keras.callbacks.LambdaCallback)]
    assert lam.on_epoch_end is json.dumps


def test_remote_monitor_fails_soft_when_the_server_is_unreachable(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server at http://127.0.0.1:9"):
        results = _train(
            tmp_path,
            "trainer.epochs=1",
            "callbacks.remote_monitor.enabled=true",
            "callbacks.remote_monitor.root=http://127.0.0.1:9",
        )
    assert results["status"] == "completed"


def test_remote_monitor_is_off_by_default(tmp_path: Path) -> None:
    callbacks, _ = build_callbacks(validate(compose([])), tmp_path, "val_loss", steps_per_epoch=1, show_progress=False)
    names = [type(c).__name__ for c in callbacks]
    assert "RemoteMonitor" not in names and "SwapEMAWeights" not in names and "LambdaCallback" not in names


def test_ema_optimizer_validates_and_saves_the_average(tmp_path: Path) -> None:
    run = validate(compose(["optimizer.use_ema=true", "optimizer.ema_momentum=0.9"]))
    optimizer = build_optimizer(run.optimizer)
    assert optimizer.use_ema and optimizer.ema_momentum == pytest.approx(0.9)
    callbacks, _ = build_callbacks(run, tmp_path, "val_loss", steps_per_epoch=1, show_progress=False)
    names = [type(c).__name__ for c in callbacks]
    assert names.index("SwapEMAWeights") < names.index("Checkpoint")  # the checkpoint saves the average

    saved = {}
    for swap in ("true", "false"):
        folder = tmp_path / swap
        folder.mkdir()
        quiet = ["callbacks.backup_and_restore=false", "callbacks.early_stopping.enabled=false"]
        _train(
            folder, "optimizer.use_ema=true", "optimizer.ema_momentum=0.5", f"callbacks.swap_ema_weights={swap}", *quiet
        )
        saved[swap] = keras.models.load_model(folder / "checkpoints" / "last.keras")
    # same seed, same training: with the swap the checkpoint holds the moving average that, without it,
    # is only in the optimizer's variables, and differs from the trained weights
    kernel = saved["true"].get_layer("hidden1").kernel.numpy()
    (average,) = [v for v in saved["false"].optimizer.variables if v.path.endswith("hidden1_kernel_average")]
    np.testing.assert_allclose(kernel, average.numpy(), atol=1e-6)
    assert np.abs(kernel - saved["false"].get_layer("hidden1").kernel.numpy()).max() > 1e-4


def test_loggers_skip_a_model_that_reads_other_inputs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from dltool.training.monitoring import ActivationLogger, EmbeddingProjector

    inputs = keras.Input((4,))
    head = keras.Model(inputs, keras.layers.Dense(2, name="out")(inputs))  # e.g. a head on cached features
    images = np.zeros((3, 8, 8, 1), "float32")
    for callback in (ActivationLogger(images, tmp_path / "a"), EmbeddingProjector("out", images, None, tmp_path / "p")):
        callback.set_model(head)
        callback.on_train_begin()
        callback.on_epoch_end(0)
        callback.on_train_end()
    assert not (tmp_path / "a").exists() or not list((tmp_path / "a").iterdir())
    assert not (tmp_path / "p").exists()
    assert "reads inputs of shape (4,), not (8, 8, 1)" in caplog.text


def test_keras_progbar_replaces_the_live_display(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = validate(compose([*TINY, "trainer.epochs=1", "callbacks.progbar_logger=true"]))
    callbacks, _ = build_callbacks(run, tmp_path, "val_loss", steps_per_epoch=4, show_progress=True)
    names = [type(c).__name__ for c in callbacks]
    assert "TextProgbar" in names and "RichProgress" not in names
    train_run(run, tmp_path)
    out = capsys.readouterr().out
    assert "4/4" in out and "loss:" in out  # Keras' bar: steps of the epoch and its metrics


def test_a_resumed_run_drops_the_summaries_of_the_epochs_it_trains_again(tmp_path: Path) -> None:
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from dltool.training.monitoring import drop_replayed_events

    for folder, steps in (("train", range(4)), ("activations", range(1, 5))):  # Keras counts from 0, ours from 1
        with tf.summary.create_file_writer(str(tmp_path / folder)).as_default():
            for step in steps:
                tf.summary.scalar("epoch_loss", 1.0 / (step + 1), step=step)
    assert drop_replayed_events(tmp_path, epochs_done=2) == 4
    steps = {}
    for folder in ("train", "activations"):
        events = EventAccumulator(str(tmp_path / folder)).Reload()
        steps[folder] = [e.step for e in events.Tensors("epoch_loss")]
    assert steps == {"train": [0, 1], "activations": [1, 2]}
    assert drop_replayed_events(tmp_path, epochs_done=2) == 0
