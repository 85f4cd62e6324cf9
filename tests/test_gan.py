"""model=gan: the DCGAN pair, its adversarial training step, sample grids per epoch."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest

from dltool.config import compose, validate
from dltool.data import DataSpec
from dltool.errors import ConfigError
from dltool.models import build_model
from dltool.training.fit import train_run
from tests.conftest import dltool_in_process, run_dltool, stand_in_checkpoint

SMALL = ["model=gan", "model.latent_dim=8", "model.generator_filters=[16,8]", "model.discriminator_filters=[8,16]"]


def test_gan_trains_and_writes_sample_grids(tmp_path: Path) -> None:
    import matplotlib.image

    run = validate(
        compose([*SMALL, "trainer.epochs=2", "data.max_samples=96", "model.samples=9", "trainer.jit_compile=false"])
    )
    results = train_run(run, tmp_path, show_progress=False)
    assert results["status"] == "completed" and results["task"] == "generation" and results["epochs_run"] == 2
    for epoch in (1, 2):
        grid = matplotlib.image.imread(tmp_path / "samples" / f"epoch_{epoch:03d}.png")
        assert grid.ndim == 3 and grid.shape[0] > 100  # an image, drawn
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert all(math.isfinite(float(r[k])) and float(r[k]) > 0 for r in rows for k in ("d_loss", "g_loss"))
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["final_g_loss"] == pytest.approx(float(rows[-1]["g_loss"]))
    assert saved["params"]["total"] == saved["params"]["generator"]["total"] + saved["params"]["discriminator"]["total"]
    generator = keras.models.load_model(tmp_path / "checkpoints" / "last.keras")
    images = keras.ops.convert_to_numpy(generator.predict(np.zeros((3, 8), "float32"), verbose=0))
    assert images.shape == (3, 8, 8, 1) and images.min() >= 0.0 and images.max() <= 1.0
    assert (tmp_path / "history.png").exists() and (tmp_path / "model.png").exists()


def test_gan_pair_shapes_and_parameter_counts() -> None:
    run = validate(compose(SMALL))
    pair = build_model(run.model, DataSpec((28, 28, 1), "multiclass", 10), run.regularization)
    generator, discriminator = pair.get_layer("generator"), pair.get_layer("discriminator")
    assert generator.output.shape == (None, 28, 28, 1) and discriminator.output.shape == (None, 1)
    # project 8 -> 7*7*16 (no bias) + BN; up1 4x4 16->16, up2 4x4 16->8 (no bias) + BNs; image 3x3 8->1
    expected = 8 * 784 + 4 * 784 + 16 * 16 * 16 + 4 * 16 + 16 * 16 * 8 + 4 * 8 + 9 * 8 + 1
    assert generator.count_params() == expected
    # model_summary.txt and model.png show every layer of both networks
    from dltool.plots import model_dot
    from dltool.training.artifacts import model_summary_text

    assert "up1 (Conv2DTranspose)" in model_summary_text(pair) and "down2 (Conv2D)" in model_summary_text(pair)
    assert all(f"<b>{name}</b>" in model_dot(pair).to_string() for name in ("up1", "down2"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data=xor"], r"model=gan generates images .* shape \(2,\)"),
        (["model.generator_filters=[8,8,8,8]"], r"model.generator_filters=\[8, 8, 8, 8\]: 4 stride-2 .* 8x8"),
    ],
)
def test_gan_refuses_what_it_cannot_build(overrides: list[str], message: str) -> None:
    from dltool.data import data_spec

    run = validate(compose([*SMALL, *overrides]))
    with pytest.raises(ConfigError, match=message):
        build_model(run.model, data_spec(run.data), run.regularization)


def test_gan_needs_the_tensorflow_backend() -> None:
    with pytest.raises(ConfigError, match=r"trainer.backend=jax: model=gan trains with TensorFlow"):
        validate(compose(["model=gan", "trainer.backend=jax"]))


def test_gan_presets_compose() -> None:
    run = validate(compose(["experiment=digits_gan"]))
    assert run.model.name == "gan" and run.optimizer.beta_1 == 0.5 and run.data.validation_split == 0.0


def test_evaluate_refuses_a_gan_run_in_one_line(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from dltool.evaluation.loading import locate, run_config

    (tmp_path / ".hydra").mkdir()
    stand_in_checkpoint(tmp_path / "checkpoints" / "last.keras")
    OmegaConf.save(compose(SMALL), tmp_path / ".hydra" / "config.yaml")
    with pytest.raises(ConfigError, match=r"a GAN run \(model=gan\) has nothing to score .* samples/"):
        run_config(locate(str(tmp_path)), [])


def test_a_gan_run_resumes_with_more_epochs_as_if_never_stopped(tmp_path: Path) -> None:
    from dltool.models.gan_model import GAN
    from dltool.training.batches import steps_per_epoch

    tiny = [*SMALL, "data.max_samples=96", "model.samples=4", "trainer.jit_compile=false"]
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    for run_dir in (whole, resumed):
        run_dir.mkdir()
    train_run(validate(compose([*tiny, "trainer.epochs=3"])), whole, show_progress=False)
    first = train_run(validate(compose([*tiny, "trainer.epochs=1"])), resumed, show_progress=False)
    assert first["epochs_run"] == 1 and (resumed / "checkpoints" / "backup" / "state.json").exists()
    more = validate(compose([*tiny, "trainer.epochs=3"]))
    more.resume = str(resumed)
    results = train_run(more, resumed, show_progress=False)

    assert results["status"] == "completed" and results["resumed_from_epoch"] == 1 and results["epochs_run"] == 3
    assert results["monitor"] == "val_g_loss" and results["best_epoch"] in (1, 2, 3)
    rows = [list(csv.DictReader((d / "metrics.csv").read_text().splitlines())) for d in (whole, resumed)]
    assert [r["epoch"] for r in rows[1]] == ["1", "2", "3"]
    losses = [[(r["d_loss"], r["g_loss"], r["val_d_loss"], r["val_g_loss"]) for r in rs] for rs in rows]
    assert losses[1] == losses[0]  # restored weights, both optimizers and the latent vectors' random state
    assert results["final_g_loss"] == float(rows[1][-1]["g_loss"]) and results["test_g_loss"] > 0
    assert sorted(p.name for p in (resumed / "samples").iterdir()) == [f"epoch_00{i}.png" for i in (1, 2, 3)]
    saved = keras.models.load_model(resumed / "checkpoints" / "last.keras")
    steps = steps_per_epoch(results["data"]["train"], more.trainer.batch_size)
    assert isinstance(saved, GAN) and int(saved.d_optimizer.iterations) == int(saved.optimizer.iterations) == 3 * steps


def test_a_gan_monitors_its_generator_loss_and_refuses_other_metrics() -> None:
    run = validate(compose(SMALL))
    assert (run.callbacks.monitor, run.callbacks.mode) == ("val_g_loss", "min")
    assert validate(compose(["experiment=digits_gan"])).callbacks.monitor == "g_loss"
    with pytest.raises(ConfigError, match=r"^callbacks.monitor=val_accuracy: model=gan logs g_loss, d_loss, "):
        validate(compose([*SMALL, "callbacks.monitor=val_accuracy"]))
    with pytest.raises(ConfigError, match=r"did you mean d_loss\?"):
        validate(compose([*SMALL, "callbacks.monitor=d_los"]))


def test_a_non_finite_gan_loss_stops_and_discards_the_epoch() -> None:
    from dltool.training.generation import LossesGuard
    from dltool.training.guards import RunStop

    stop = RunStop()
    guard = LossesGuard(stop)
    guard.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    guard.model.stop_training = False  # as fit sets it
    guard.on_epoch_end(0, {"d_loss": 0.7, "g_loss": 0.69})
    assert stop.reason is None and not guard.model.stop_training
    guard.on_epoch_end(1, {"d_loss": 0.7, "g_loss": float("nan")})
    assert stop.reason == "non-finite g_loss nan" and stop.discards(1) and guard.model.stop_training


def test_a_gan_run_killed_mid_epoch_resumes_from_the_command_line(tmp_path: Path) -> None:
    """Killed (SIGKILL) during epoch 2 of the digits_gan preset; ``dltool train resume=DIR`` trains epochs 2-3."""
    run_dir = tmp_path / "run"
    args = [
        "experiment=digits_gan",
        "trainer.epochs=3",
        "data.max_samples=200",  # 3 steps an epoch: step 5 is in epoch 2
        "model.generator_filters=[16,8]",
        "model.discriminator_filters=[8,16]",
        "trainer.jit_compile=false",
        f"hydra.run.dir={run_dir}",
    ]
    killed = run_dltool("train", *args, cwd=tmp_path, env={"DLTOOL_FAULT": "step:5"})
    assert killed.returncode != 0 and not (run_dir / "results.json").exists()
    before = (run_dir / "metrics.csv").read_text().splitlines()
    assert len(before) == 2  # the header and epoch 1

    resumed = dltool_in_process("train", f"resume={run_dir}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    done = json.loads((run_dir / "results.json").read_text())
    assert (done["status"], done["resumed_from_epoch"], done["epochs_run"], done["monitor"]) == (
        "completed",
        1,
        3,
        "g_loss",
    )
    after = (run_dir / "metrics.csv").read_text().splitlines()
    rows = list(csv.DictReader(after))
    assert after[:2] == before and [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert all(math.isfinite(float(r[k])) for r in rows for k in ("d_loss", "g_loss"))
    assert done["final_d_loss"] == float(rows[-1]["d_loss"]) and done["samples"].endswith("epoch_003.png")
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == [f"epoch_00{i}.png" for i in (1, 2, 3)]
