"""``model=transfer``: parameter parity with Keras Applications, the backbone's preprocessing,
freeze modes, the offline ``imagenet`` error, two-phase fine-tuning and feature extraction.
Small runs use random weights on digits resized to 32x32: MobileNetV2 at alpha 0.35 where its
BatchNormalization layers matter, VGG16 (19 layers: 3x faster to trace) for the training runs."""

from __future__ import annotations

import csv
import dataclasses

import keras
import numpy as np
import pytest

from dltool.config import compose, validate
from dltool.config.regularization import RegularizationConfig
from dltool.data import DataSpec, load_dataset
from dltool.errors import ConfigError
from dltool.models import build_model
from dltool.models.transfer import TransferConfig, application, apply_freeze, build_backbone, preprocessing
from dltool.training.build import compile_model
from dltool.training.fine_tuning import check_scheme, start_phase_two
from dltool.training.fit import train_run
from tests.conftest import run_dltool

SMALL = ["model=transfer", "model.weights=null", "+model.backbone_args.alpha=0.35", "model.input_size=32"]
VGG = ["model=transfer", "model.weights=null", "model.backbone=VGG16", "model.input_size=32"]
TINY_RUN = ["data=digits", "data.max_samples=64", "trainer.batch_size=32", "callbacks.tensorboard.enabled=false"]


def small_config(**changes) -> TransferConfig:
    return TransferConfig(**{"weights": None, "backbone_args": {"alpha": 0.35}, "input_size": 32, **changes})


# Keras Applications' table: the backbone without top, global average pooling, Dense(1000)
@pytest.mark.parametrize(
    ("backbone", "expected"), [("ResNet50", 25_636_712), ("InceptionV3", 23_851_784), ("MobileNetV2", 3_538_984)]
)
def test_parameters_match_keras_applications(backbone: str, expected: int) -> None:
    cfg = TransferConfig(backbone=backbone, weights=None)
    model = build_model(cfg, DataSpec((224, 224, 3), "multiclass", 1000), RegularizationConfig())
    assert model.count_params() == expected


@pytest.mark.parametrize("backbone", ["VGG16", "InceptionV3", "DenseNet121"])  # caffe, tf and torch modes
def test_preprocessing_equals_the_backbones_preprocess_input(backbone: str) -> None:
    constructor = application(backbone)
    preprocess = __import__(constructor.__module__, fromlist=["preprocess_input"]).preprocess_input
    rgb = np.random.default_rng(1).uniform(0, 1, (2, 4, 4, 3)).astype("float32")
    expected = preprocess(rgb * 255.0)
    got = keras.ops.convert_to_numpy(preprocessing(constructor, 3)(rgb))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    grey = rgb[..., :1]
    got_grey = keras.ops.convert_to_numpy(preprocessing(constructor, 1)(grey))
    np.testing.assert_allclose(got_grey, preprocess(np.repeat(grey, 3, axis=-1) * 255.0), rtol=1e-5, atol=1e-3)


def test_backbones_that_preprocess_inside_only_get_the_0_255_range() -> None:
    config = preprocessing(application("EfficientNetB0"), 3).get_config()
    assert config["matrix"] == (255.0 * np.eye(3)).tolist() and config["bias"] == [0.0, 0.0, 0.0]


def test_unknown_backbone_suggests_the_close_name() -> None:
    with pytest.raises(ConfigError, match=r"model.backbone=Resnet50: .*did you mean ResNet50"):
        application("Resnet50")


def test_freeze_modes() -> None:
    backbone = build_backbone(small_config(), 32)
    apply_freeze(backbone, "all")
    assert backbone.trainable_weights == []
    batch_norm = [isinstance(layer, keras.layers.BatchNormalization) for layer in backbone.layers]
    apply_freeze(backbone, "none")
    assert [layer.trainable for layer in backbone.layers] == [not bn for bn in batch_norm]
    assert len(backbone.trainable_weights) == sum(
        len(layer.weights) for layer, bn in zip(backbone.layers, batch_norm, strict=True) if not bn
    )
    apply_freeze(backbone, "20")
    assert [layer.trainable for layer in backbone.layers] == [i >= 20 and not bn for i, bn in enumerate(batch_norm)]
    with pytest.raises(ConfigError, match=r"model\.freeze=half: must be all, none or a number"):
        apply_freeze(backbone, "half")


def test_weights_file_must_exist(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"model\.weights=.*missing\.h5: no such file"):
        build_backbone(small_config(weights=str(tmp_path / "missing.h5")), 32)


def test_schemes_that_cannot_train_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"needs model\.freeze=all"):
        check_scheme(validate(compose([*SMALL, "model.feature_extraction=true", "model.freeze=none"])))
    with pytest.raises(ConfigError, match=r"head_epochs=5: must be less than trainer\.epochs=5"):
        check_scheme(validate(compose([*SMALL, "model.fine_tune.head_epochs=5", "trainer.epochs=5"])))
    two_phase = validate(compose([*SMALL, "model.fine_tune.head_epochs=1", "trainer.epochs=5"]))
    check_scheme(two_phase)
    with pytest.raises(ConfigError, match="cannot be resumed"):
        check_scheme(dataclasses.replace(two_phase, resume="outputs/earlier"))


def test_offline_imagenet_weights_fail_in_one_line(tmp_path) -> None:
    # a proxy that refuses connections makes the download fail as offline, whatever the network
    env = {"KERAS_HOME": str(tmp_path / "keras_home"), "HTTPS_PROXY": "http://127.0.0.1:9", "COLUMNS": "400"}
    proc = run_dltool("train", "model=transfer", "model.backbone=ResNet50", *TINY_RUN, cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    expected = tmp_path / "keras_home" / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert f"place that file as {expected}" in errors[0] and "model.weights" in errors[0]


def test_phase_one_leaves_the_backbone_unchanged_phase_two_trains_its_top() -> None:
    run = validate(compose([*SMALL, "model.fine_tune.head_epochs=1", "model.fine_tune.unfreeze_top=10"]))
    spec = DataSpec((8, 8, 1), "multiclass", 10)
    model = compile_model(build_model(run.model, spec, run.regularization), run, spec)
    backbone = model.get_layer("backbone")
    x, y = np.random.default_rng(0).uniform(0, 1, (32, 8, 8, 1)), np.arange(32) % 10

    def weights() -> list[np.ndarray]:
        return [keras.ops.convert_to_numpy(w).copy() for w in backbone.weights]

    before = weights()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, weights(), strict=True))
    start_phase_two(model, run, spec, [], first_epoch=1, steps_per_epoch=1)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-4)
    top = {id(w) for layer in backbone.layers[-10:] for w in layer.trainable_weights}
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    changed = [not np.array_equal(a, b) for a, b in zip(before, weights(), strict=True)]
    # only the top layers' kernels move; BatchNormalization statistics stay (inference mode)
    assert any(changed) and all(id(w) in top for w, c in zip(backbone.weights, changed, strict=True) if c)


def test_two_phase_run_numbers_its_epochs_on(tmp_path) -> None:
    run = validate(
        compose(
            [*VGG, *TINY_RUN, "trainer.epochs=2", "model.fine_tune.head_epochs=1", "model.fine_tune.unfreeze_top=5"]
        )
    )
    results = train_run(run, tmp_path, show_progress=False)
    with (tmp_path / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2] and results["epochs_run"] == 2
    assert [float(r["lr"]) for r in rows] == pytest.approx([1e-3, 1e-4])


def test_feature_extraction_trains_the_head_and_checkpoints_the_whole_model(tmp_path) -> None:
    run = validate(compose([*VGG, *TINY_RUN, "trainer.epochs=2", "model.feature_extraction=true"]))
    results = train_run(run, tmp_path, show_progress=False)
    assert results["feature_extraction_s"] > 0 and results["epochs_run"] == 2
    best = keras.saving.load_model(tmp_path / "checkpoints" / "best.keras", safe_mode=True)
    data = load_dataset(run.data, run.trainer.seed)
    # the checkpoint reads images and scores on them what the head scored on the cached features
    accuracy = float(np.mean(best.predict(data.x_test, verbose=0).argmax(-1) == data.y_test))
    assert accuracy == pytest.approx(results["test_accuracy"], abs=1e-6)
