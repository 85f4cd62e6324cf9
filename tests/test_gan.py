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
from tests.conftest import stand_in_checkpoint

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
