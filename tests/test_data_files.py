"""Your own data: image folders, CSV tables, text folders, IMDB; augmentation; data figures.

The four CLI runs are the end-to-end checks; everything else runs in-process on tiny generated files.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import re
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from dltool.commands.predict import predict_files
from dltool.config import compose, validate
from dltool.config.regularization import AugmentationConfig, RegularizationConfig
from dltool.data import DataSpec, check_data, data_spec, load_dataset
from dltool.data.images import ImageFiles, ImageFolderConfig, decode_images
from dltool.data.tables import CSVConfig
from dltool.data.tabular import read_table
from dltool.data.text import IMDBConfig, TextFolderConfig
from dltool.errors import ConfigError
from dltool.models import build_model
from dltool.models.augment import (
    RandomAffine,
    RandomShear,
    affine_matrices,
    augmentation_layers,
    augmentation_preview,
    mix_batches,
)
from dltool.training.batches import epoch_batches, feed
from dltool.training.build import uses_one_hot_labels
from tests.conftest import results, run_dirs, run_dltool, train_in_process

NONE = RegularizationConfig()
IMAGES = DataSpec((16, 16, 3), "multiclass", 3)


# ------------------------------------------------------------------------------------------- generated files
def image_folder(root: Path, per_class: int = 12, classes: tuple[str, ...] = ("cat", "dog"), corrupt: bool = True):
    """Classes told apart by colour (red vs blue), PNG and JPEG files of various sizes, one corrupt file."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = rng.integers(0, 60, size=(20 + i % 5, 24, 3), dtype=np.uint8)
            image[..., 2 * (c % 2)] += 180
            Image.fromarray(image).save(root / name / f"{name}{i}.{'png' if i % 2 else 'jpg'}")
    if corrupt:
        (root / classes[0] / "broken.jpg").write_bytes(b"\xff\xd8\xff this is no JPEG")
    return root


def write_csv(path: Path, rows: int = 80, missing: bool = True) -> Path:
    """y = 3a - 2b + (2 if colour is red) + noise; b has empty cells."""
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "colour", "y"])
        for i in range(rows):
            a, b, red = rng.normal(), rng.normal(), i % 2
            cell_b = "" if missing and i % 9 == 0 else f"{b:.4f}"
            writer.writerow([f"{a:.4f}", cell_b, "red" if red else "blue", f"{3 * a - 2 * b + 2 * red:.4f}"])
    return path


WORDS = {"neg": "bad awful boring terrible worst", "pos": "good great superb lovely best"}


def text_folder(root: Path, per_class: int = 30, test: bool = False) -> Path:
    rng = np.random.default_rng(0)
    for split in ("train", "test") if test else ("",):
        for name, words in WORDS.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                text = " ".join(rng.choice([*words.split(), "the", "film", "was", "a"], size=12))
                (folder / f"{i}.txt").write_text(text.capitalize() + ".")
    return root


# -------------------------------------------------------------------------------------------- image folders
def test_image_folder_loads_splits_and_reports_the_corrupt_file_in_one_line(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "pets")
    cfg = ImageFolderConfig(root=str(root), image_size=[16, 16], validation_split=0.2, test_split=0.25)
    assert data_spec(cfg).class_names == ("cat", "dog") and data_spec(cfg).task == "binary"
    data = load_dataset(cfg, seed=0)
    (decision,) = data.decisions  # announced by the run, once, and kept in results.json
    assert "1 unreadable image file" in decision and "broken.jpg" in decision and "skipped" in decision
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 24  # 25 files, the corrupt one dropped
    assert data.x_train.shape[1:] == (16, 16, 3) and data.x_train.dtype == np.float32
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    red = data.x_train[..., 0].mean((1, 2)) > data.x_train[..., 2].mean((1, 2))
    np.testing.assert_array_equal(red, data.y_train[:, 0] == 0)  # cat (class 0) is the red one
    with pytest.raises(ConfigError, match=r"1 unreadable image file .*broken\.jpg.*on_bad_file=error"):
        load_dataset(ImageFolderConfig(root=str(root), image_size=[16, 16], on_bad_file="error"), seed=0)


def test_image_folder_reads_train_val_test_sub_folders_and_grayscale(tmp_path: Path) -> None:
    for split, n in (("train", 10), ("val", 3), ("test", 4)):
        image_folder(tmp_path / split, per_class=n, classes=("a", "b", "c"), corrupt=False)
    cfg = ImageFolderConfig(root=str(tmp_path), image_size=[8, 12], color_mode="grayscale")
    data = load_dataset(cfg, seed=0)
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (30, 9, 12)
    assert data.spec.task == "multiclass" and data.spec.num_classes == 3
    assert data.x_test.shape[1:] == (8, 12, 1) and sorted(set(data.y_val.tolist())) == [0, 1, 2]


def test_decode_images_matches_pillow_and_flags_bad_files(tmp_path: Path) -> None:
    image = np.random.default_rng(1).integers(0, 256, size=(9, 7, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_text("nope")
    decoded, ok = decode_images([tmp_path / "a.png", tmp_path / "b.png"], (9, 7), 3)
    assert ok.tolist() == [True, False]
    np.testing.assert_array_equal(decoded[0], image)  # same size: lossless PNG, no resampling
    assert not decoded[1].any()


def test_predict_reads_images_as_training_does(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "imgs", corrupt=False)  # 20-24 x 24 files resized to 16 x 16
    cfg = ImageFolderConfig(root=str(root), image_size=[16, 16], stream=True, test_split=0.25)
    test = load_dataset(cfg, seed=0).x_test
    from dltool.commands.predict import read_inputs

    names, x = read_inputs(list(test.paths), (16, 16, 3))
    assert names == list(test.paths)
    np.testing.assert_array_equal(x, test[np.arange(len(test))])  # the same decoder and resize, to the bit
    (tmp_path / "bad.png").write_text("nope")
    with pytest.raises(ConfigError, match=r"bad.png: not a readable image"):
        read_inputs([str(tmp_path / "bad.png")], (16, 16, 3))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "data.root is not set"),
        (lambda p: p / "nowhere", "no such folder"),
        (lambda p: (p / "one" / "only").mkdir(parents=True) or p / "one", "found only only/"),
        (lambda p: [(p / "e" / c).mkdir(parents=True) for c in "xy"] and p / "e", "no .jpg/.jpeg/.png"),
    ],
)
def test_image_folder_problems_are_one_line_config_errors(tmp_path: Path, make, message: str) -> None:
    root = make(tmp_path)
    with pytest.raises(ConfigError, match=message):
        check_data(ImageFolderConfig(root=None if root is None else str(root)))


def test_image_folder_over_the_memory_budget_streams_unless_stream_is_false(tmp_path: Path, caplog) -> None:
    root = image_folder(tmp_path, per_class=4, corrupt=False)
    big = ImageFolderConfig(root=str(root), image_size=[256, 256], memory_budget_mb=1)
    with pytest.raises(ConfigError, match=r"over data\.memory_budget_mb=1; stream them .*with data\.stream=true"):
        load_dataset(dataclasses.replace(big, stream=False), seed=0)
    with caplog.at_level(logging.INFO, logger="dltool"):
        data = load_dataset(big, seed=0)  # stream=auto: over the budget, streamed
    assert (
        "data.stream=auto: 8 images of shape (256, 256, 3) take 6 MB decoded, over data.memory_budget_mb=1; "
        "streaming them from disk" in caplog.text
    )
    assert isinstance(data.x_train, ImageFiles) and data.x_train.shape[1:] == (256, 256, 3)
    small = load_dataset(ImageFolderConfig(root=str(root), image_size=[16, 16]), seed=0)  # auto, within: in memory
    assert isinstance(small.x_train, np.ndarray)
    with pytest.raises(ConfigError, match=r"data\.stream=maybe: must be one of auto, true, false"):
        validate(compose(["data=image_folder", "data.stream=maybe"]))


def test_streamed_batches_equal_the_in_memory_ones_for_each_epoch(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "pets")
    cfg = ImageFolderConfig(root=str(root), image_size=[16, 16], validation_split=0.2)
    memory = load_dataset(dataclasses.replace(cfg, stream=False), seed=3)
    streamed = load_dataset(dataclasses.replace(cfg, stream=True), seed=3)
    (decision,) = streamed.decisions
    assert "1 unreadable image file" in decision and "broken.jpg" in decision
    for split in ("train", "val", "test"):
        x = getattr(streamed, f"x_{split}")
        assert isinstance(x, ImageFiles) and x.shape == getattr(memory, f"x_{split}").shape
        np.testing.assert_array_equal(getattr(streamed, f"y_{split}"), getattr(memory, f"y_{split}"))
    np.testing.assert_array_equal(streamed.x_val[np.arange(len(streamed.x_val))], memory.x_val)  # decoded on indexing
    for epoch in (0, 2):  # epoch e alone, as a run resumed at e sees it
        pairs = [epoch_batches(d.x_train, d.y_train, 4, 7, (epoch, epoch + 1))[0] for d in (memory, streamed)]
        in_memory, from_disk = (list(batches.as_numpy_iterator()) for batches in pairs)
        assert len(memory.x_train) == 15 and [len(x) for x, _ in from_disk] == [4, 4, 4, 3]  # its own partial batch
        for (x_mem, y_mem), (x_disk, y_disk) in zip(in_memory, from_disk, strict=True):
            np.testing.assert_array_equal(x_disk, x_mem)  # same images, same order, same decoding
            np.testing.assert_array_equal(y_disk, y_mem)
    (test_batches,) = feed(streamed.x_test, streamed.y_test, 4)
    np.testing.assert_array_equal(np.concatenate([x for x, _ in test_batches.as_numpy_iterator()]), memory.x_test)
    with pytest.raises(ConfigError, match=r"1 unreadable image file .*on_bad_file=error"):
        load_dataset(dataclasses.replace(cfg, stream=True, on_bad_file="error"), seed=0)


def test_a_streamed_run_never_hands_keras_a_decoded_split(tmp_path: Path, monkeypatch) -> None:
    """fit, evaluate and predict get tf.data pipelines, whatever the split; only a few figure images are decoded."""
    import tensorflow as tf

    root = image_folder(tmp_path / "pets", corrupt=False)
    (tmp_path / "run").mkdir()
    received: list[tuple[str, object]] = []
    for method in ("fit", "evaluate", "predict"):
        original = getattr(keras.Model, method)

        def spy(self, *args, _method=method, _original=original, **kwargs):
            received.append((_method, args[0] if args else kwargs["x"]))  # fit's validation: evaluate(x=...)
            if _method == "fit":
                received.append(("validation_data", kwargs["validation_data"][0]))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(keras.Model, method, spy)
    decoded_rows: list[int] = []
    original_decode = ImageFiles.__getitem__

    def decode(self, index):
        images = original_decode(self, index)
        decoded_rows.append(len(images))
        return images

    monkeypatch.setattr(ImageFiles, "__getitem__", decode)
    out = _train(
        tmp_path / "run",
        "data=image_folder",
        f"data.root={root}",
        "data.image_size=[16,16]",
        "data.stream=true",
        "model=cnn",
        "model.dense_units=[8]",
        "trainer.batch_size=8",
        "regularization=augment",
        "regularization.augmentation.horizontal_flip=true",
    )
    assert out["status"] == "completed" and np.isfinite(out["test_loss"])
    assert {name for name, _ in received} == {"fit", "validation_data", "evaluate", "predict"}
    assert all(isinstance(x, tf.data.Dataset) for _, x in received), received
    assert decoded_rows == [6]  # the six images of augmentation_preview.png, nothing else
    assert (tmp_path / "run" / "augmentation_preview.png").exists()


# ---------------------------------------------------------------------------------------------------- CSV
def test_csv_regression_features_are_standardized_one_hot_and_filled(tmp_path: Path) -> None:
    cfg = CSVConfig(path=str(write_csv(tmp_path / "t.csv")), target="y", number_bins=0)
    spec = data_spec(cfg)
    assert (spec.input_shape, spec.task, spec.num_classes) == ((4,), "regression", 1)  # a, b, blue, red
    data = load_dataset(cfg, seed=0)
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 80 and data.y_train.shape[1] == 1
    np.testing.assert_allclose(data.x_train[:, :2].mean(0), 0.0, atol=1e-5)  # training statistics
    np.testing.assert_allclose(data.x_train[:, :2].std(0), 1.0, atol=1e-5)
    assert np.isfinite(data.x_train).all()  # the empty b cells got the training median
    assert set(np.unique(data.x_train[:, 2:])) == {0.0, 1.0} and (data.x_train[:, 2:].sum(1) == 1).all()


def test_csv_missing_policies_and_classification_targets(tmp_path: Path) -> None:
    path = str(write_csv(tmp_path / "t.csv"))
    dropped = load_dataset(CSVConfig(path=path, target="y", missing="drop"), seed=0)
    assert len(dropped.x_train) + len(dropped.x_val) + len(dropped.x_test) == 80 - 9
    with pytest.raises(ConfigError, match=r"t\.csv:2: column 'b' has a missing value"):
        load_dataset(CSVConfig(path=path, target="y", missing="error"), seed=0)
    colour = data_spec(CSVConfig(path=path, target="colour", number_bins=0))
    assert (colour.task, colour.class_names, colour.input_shape) == ("binary", ("blue", "red"), (3,))
    several = data_spec(CSVConfig(path=path, target=["a", "y"]))
    assert (several.task, several.num_classes) == ("regression", 2)
    model = build_model(validate(compose(["model.hidden_units=[4]"])).model, several, NONE)
    assert model.output_shape == (None, 2)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target": "prise"}, r"data.target=prise: no column 'prise' in .*\(did you mean price\?\)"),
        ({"features": ["size", "wieght"]}, r"data.features=wieght: .*\(did you mean weight\?\)"),
        ({"path": "missing.csv"}, "data.path=missing.csv: no such file"),
        ({"task": "regression", "target": "kind"}, "a regression target must be numeric"),
    ],
)
def test_csv_header_problems_name_the_column(tmp_path: Path, overrides: dict, message: str) -> None:
    (tmp_path / "t.csv").write_text("size,weight,kind,price\n1,2,a,3\n2,3,b,4\n")
    cfg = CSVConfig(**{"path": str(tmp_path / "t.csv"), "target": "price", **overrides})
    with pytest.raises(ConfigError, match=message):
        check_data(cfg)


def test_csv_encoder_of_a_run_encodes_new_rows_as_in_training(tmp_path: Path) -> None:
    from dltool.data.tabular import fitted_encoder

    cfg = CSVConfig(path=str(write_csv(tmp_path / "t.csv")), target="y", number_bins=0)
    data = load_dataset(cfg, seed=3)
    encoder = fitted_encoder(cfg, seed=3)
    (tmp_path / "new.csv").write_text("y,colour,a,b\n0,red,0.5,\n0,green,0.5,1\n")
    names, x = encoder.read(tmp_path / "new.csv", ",")
    assert names == [f"{tmp_path / 'new.csv'}:2", f"{tmp_path / 'new.csv'}:3"] and x.shape == (2, 4)
    assert x[0, 2:].tolist() == [0.0, 1.0] and x[1, 2:].tolist() == [0.0, 0.0]  # green: an unknown category
    every_split = np.concatenate([data.x_train, data.x_val, data.x_test])
    np.testing.assert_allclose(np.sort(encoder.encode(read_table(cfg)), 0), np.sort(every_split, 0), rtol=1e-6)
    (tmp_path / "bad.csv").write_text("colour,a\nred,1\n")
    with pytest.raises(ConfigError, match=r"no column 'b' in .*bad\.csv"):
        encoder.read(tmp_path / "bad.csv", ",")


# --------------------------------------------------------------------------------------------------- text
def test_text_folder_vectorizes_with_a_vocabulary_fitted_on_train(tmp_path: Path) -> None:
    root = text_folder(tmp_path / "reviews", per_class=10, test=True)
    cfg = TextFolderConfig(root=str(root), vocab_size=12, sequence_length=15)
    spec = data_spec(cfg)
    assert (spec.input_shape, spec.input_dtype, spec.vocab_size, spec.task) == ((15,), "int32", 12, "binary")
    data = load_dataset(cfg, seed=0)
    assert len(data.x_test) == 20 and len(data.x_train) + len(data.x_val) == 20
    assert data.x_train.dtype == np.int32 and data.x_train.min() >= 0 and data.x_train.max() < 12
    assert (data.x_train[:, 12:] == 0).all() and (data.x_train[:, :12] > 0).all()  # 12 words, then padding
    conv1d = build_model(
        validate(compose(["model=conv1d"])).model,
        data_spec(TextFolderConfig(root=str(root), sequence_length=500)),
        NONE,
    )
    assert conv1d.get_layer("embedding").input_dim == 10000 and conv1d.output_shape == (None, 1)


def test_imdb_reads_a_placed_npz_with_keras_conventions_and_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"imdb.npz not found in .* \(data.root\); download from https://"):
        check_data(IMDBConfig(root=str(tmp_path)))
    reviews = np.empty(4, dtype=object)
    reviews[:] = [[1, 2, 3], [4, 50], [7], [8, 9, 10, 11, 12]]
    np.savez(
        tmp_path / "imdb.npz", x_train=reviews, y_train=np.array([0, 1, 0, 1]), x_test=reviews, y_test=[1, 0, 1, 0]
    )
    data = load_dataset(IMDBConfig(root=str(tmp_path), vocab_size=20, sequence_length=4, validation_split=0), seed=0)
    rows = {tuple(r) for r in data.x_test.tolist()}
    assert (0, 1, 7, 2) in rows  # start 1, word 4 -> 7, word 50 beyond the vocabulary -> 2, front padding
    assert (12, 13, 14, 15) in rows  # cut at the front, keeping the end (words 9..12)


# ------------------------------------------------------------------------------------------- augmentation
EVERY_TRANSFORM = AugmentationConfig(
    horizontal_flip=True,
    vertical_flip=True,
    rotation=20,
    width_shift=0.1,
    height_shift=0.2,
    shear=0.2,
    zoom=0.2,
    brightness=0.2,
    contrast=0.3,
    fill_mode="reflect",
    crop_padding=2,
)


def test_every_transform_is_a_layer_active_in_training_only() -> None:
    reg = RegularizationConfig(augmentation=EVERY_TRANSFORM)
    layers = augmentation_layers(reg, (16, 16, 3))
    names = [layer.name.removeprefix("augment_") for layer in layers]
    assert names == ["affine", "padded_crop", "brightness", "contrast"]
    affine = layers[0]
    ranges = (affine.rotation, affine.shear, affine.zoom, affine.height_shift, affine.width_shift)
    assert ranges == (20, 0.2, 0.2, 0.2, 0.1) and affine.fill_mode == "reflect"
    assert affine.horizontal_flip and affine.vertical_flip
    x = np.random.default_rng(0).random((4, 16, 16, 3), dtype="float32")
    for layer in layers:
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=False)), x, rtol=1e-6)
        assert layer(x, training=True).shape == x.shape
    crop = layers[1](x, training=True)
    assert not np.allclose(crop, x)


def test_a_model_with_every_transform_reloads_in_safe_mode(tmp_path: Path) -> None:
    reg = RegularizationConfig(augmentation=EVERY_TRANSFORM)
    model = build_model(validate(compose(["model=cnn", "model.dense_units=[4]"])).model, IMAGES, reg)
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = np.random.default_rng(0).random((2, 16, 16, 3), dtype="float32")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)
    affine = reloaded.get_layer("augment_affine")
    assert isinstance(affine, RandomAffine) and affine.get_config() == model.get_layer("augment_affine").get_config()


def test_models_saved_with_one_layer_per_transform_still_load(tmp_path: Path) -> None:
    """What augmentation_layers built before RandomAffine: Keras' layers and dltool's RandomShear."""
    inputs = keras.Input((8, 8, 3))
    x = inputs
    for layer in (
        keras.layers.RandomRotation(20 / 360, fill_mode="nearest"),
        RandomShear(0.2, 0.2, fill_mode="nearest", name="augment_shear"),
        keras.layers.RandomZoom((-0.2, 0.2), fill_mode="nearest"),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
    ):
        x = layer(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    model.save(tmp_path / "old.keras")
    reloaded = keras.saving.load_model(tmp_path / "old.keras", safe_mode=True)
    assert reloaded.get_layer("augment_shear").x_factor == (-0.2, 0.2)
    x = np.random.default_rng(0).random((2, 8, 8, 3), dtype="float32")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def _matrices(batch: int = 1, **draws: object) -> np.ndarray:
    """affine_matrices for 16 x 16 images, every draw neutral unless given."""
    neutral = {"angle": 0, "shear_x": 0, "shear_y": 0, "zoom_x": 1, "zoom_y": 1, "shift_x": 0, "shift_y": 0}
    arrays = {k: np.broadcast_to(np.asarray(v, dtype="float64"), (batch,)) for k, v in (neutral | draws).items()}
    return affine_matrices(np, **arrays, height=16.0, width=16.0)


def _transform(x: np.ndarray, matrices: np.ndarray, fill_mode: str) -> np.ndarray:
    transforms = matrices.reshape(len(matrices), 9)[:, :8].astype("float32")
    return keras.ops.convert_to_numpy(keras.ops.image.affine_transform(x, transforms, fill_mode=fill_mode))


@pytest.mark.parametrize(
    "keras_layer, draws",
    [
        (keras.layers.RandomRotation((25 / 360, 25 / 360), fill_mode="nearest"), {"angle": 25}),
        (keras.layers.RandomZoom((0.15, 0.15), fill_mode="nearest"), {"zoom_x": 1.15, "zoom_y": 1.15}),
        (keras.layers.RandomTranslation((0.25, 0.25), (-0.125, -0.125)), {"shift_x": -2, "shift_y": 4}),
    ],
    ids=["rotation", "zoom", "shift"],
)
def test_one_transform_matches_the_keras_layer(keras_layer: keras.layers.Layer, draws: dict) -> None:
    """Each Keras layer above has a range of one value; its image is that of RandomAffine's matrix."""
    x = np.random.default_rng(0).random((2, 16, 16, 3), dtype="float32")
    expected = keras.ops.convert_to_numpy(keras_layer(x, training=True))
    ours = _transform(x, _matrices(2, **draws), keras_layer.fill_mode)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    assert not np.allclose(ours, x, atol=0.05)


def test_rotation_matches_scipy() -> None:
    from scipy import ndimage

    x = np.random.default_rng(0).random((1, 16, 16, 1), dtype="float32")
    ours = _transform(x, _matrices(angle=30), "constant")[0, ..., 0]
    # scipy's (row, column) = (y, x) frame turned the other way: the same image, up to bilinear rounding
    expected = ndimage.rotate(x[0, ..., 0], 30, reshape=False, order=1, mode="constant")
    inside = np.zeros((16, 16), bool)
    inside[3:13, 3:13] = True  # away from the border, where the two fill rules part
    np.testing.assert_allclose(ours[inside], expected[inside], atol=1e-4)


def test_shear_is_keras_shear_about_the_centre() -> None:
    """keras.layers.RandomShear shears about the top-left corner: its image is RandomAffine's shifted by
    (s_x, s_y) times the centre's coordinates (y, x)."""
    layer = keras.layers.RandomShear((0.2, 0.2), (0.1, 0.1), fill_mode="constant", seed=1)
    x = np.random.default_rng(0).random((4, 16, 16, 3), dtype="float32")
    drawn = layer.get_random_transformation(x, training=True)
    expected = keras.ops.convert_to_numpy(layer.transform_images(x, drawn))
    s_x, s_y = keras.ops.convert_to_numpy(drawn["shear_factor"]).T  # ±(0.2, 0.1): Keras draws the sign
    matrices = _matrices(4, shear_x=s_x, shear_y=s_y)
    np.testing.assert_allclose(matrices[:, :2, 2], -7.5 * np.stack([s_x, s_y], 1), atol=1e-6)
    matrices[:, :2, 2] = 0.0
    np.testing.assert_allclose(_transform(x, matrices, "constant"), expected, atol=1e-5)


def test_the_composed_matrix_is_the_product_of_the_single_transforms() -> None:
    rng = np.random.default_rng(0)
    draws = {
        "angle": rng.uniform(-20, 20, 5),
        "shear_x": rng.uniform(-0.2, 0.2, 5),
        "shear_y": rng.uniform(-0.2, 0.2, 5),
        "zoom_x": rng.uniform(0.8, 1.2, 5),
        "zoom_y": rng.uniform(0.8, 1.2, 5),
        "shift_x": rng.uniform(-2, 2, 5),
        "shift_y": rng.uniform(-2, 2, 5),
    }
    singles = [
        _matrices(5, angle=draws["angle"]),
        _matrices(5, shear_x=draws["shear_x"], shear_y=draws["shear_y"]),
        _matrices(5, zoom_x=draws["zoom_x"], zoom_y=draws["zoom_y"]),
        _matrices(5, shift_x=draws["shift_x"], shift_y=draws["shift_y"]),
    ]
    np.testing.assert_allclose(_matrices(5, **draws), singles[0] @ singles[1] @ singles[2] @ singles[3], atol=1e-12)


def test_random_affine_draws_in_the_configured_ranges() -> None:
    x = np.zeros((256, 16, 16, 1), dtype="float32")

    def transforms(**ranges: float) -> np.ndarray:
        drawn = RandomAffine(**ranges, seed=0).get_random_transformation(x, training=True)["transforms"]
        return keras.ops.convert_to_numpy(drawn)

    angles = np.degrees(np.arctan2(*transforms(rotation=20)[:, [3, 0]].T))  # rotation only: (sin, cos)
    assert np.abs(angles).max() <= 20 + 1e-4 and np.abs(angles).max() > 18
    zooms = transforms(zoom=0.2)[:, [0, 4]]
    assert (zooms[:, 0] == zooms[:, 1]).all() and zooms.min() >= 0.8 and zooms.max() <= 1.2 and np.ptp(zooms) > 0.3
    shifts = -transforms(height_shift=0.25, width_shift=0.125)[:, [2, 5]]  # pixels: (x, y)
    assert np.abs(shifts).max(0) == pytest.approx([2, 4], rel=0.05) and (np.abs(shifts).max(0) <= [2, 4]).all()
    shears = transforms(shear=0.3)[:, [1, 3]]
    assert np.abs(shears).max() <= 0.3 and np.abs(shears).max() > 0.28
    assert transforms(rotation=0)[:, :6].tolist() == [[1, 0, 0, 0, 1, 0]] * 256  # nothing asked: identity


@pytest.mark.parametrize("axis", [1, 2], ids=["vertical", "horizontal"])
def test_random_affine_flips_exactly(axis: int) -> None:
    layer = RandomAffine(horizontal_flip=axis == 2, vertical_flip=axis == 1, seed=0)
    x = np.random.default_rng(0).random((32, 6, 5, 3), dtype="float32")
    out = keras.ops.convert_to_numpy(layer(x, training=True))
    flipped = np.all(out == np.flip(x, axis), axis=(1, 2, 3))
    assert (flipped | np.all(out == x, axis=(1, 2, 3))).all() and 8 < flipped.sum() < 24


def test_random_affine_runs_in_a_tf_data_map() -> None:
    import tensorflow as tf

    layer = RandomAffine(rotation=20, shear=0.1, zoom=0.1, height_shift=0.1, width_shift=0.1, fill_mode="nearest")
    x = np.random.default_rng(0).random((64, 16, 16, 3), dtype="float32")
    batches = tf.data.Dataset.from_tensor_slices(x).batch(16).map(lambda b: layer(b, training=True))
    out = np.concatenate(list(batches.as_numpy_iterator()))
    assert out.shape == x.shape and out.min() >= 0.0 and out.max() <= 1.0  # nearest fill + bilinear: in range
    assert not np.allclose(out, x, atol=0.05)
    single = tf.data.Dataset.from_tensor_slices(x).map(lambda image: layer(image, training=True))
    assert next(single.as_numpy_iterator()).shape == (16, 16, 3)  # unbatched images too


def test_mixup_and_cutmix_mix_training_batches_with_one_hot_labels() -> None:
    import tensorflow as tf

    run = validate(compose(["regularization.augmentation.mixup=0.4", "regularization.augmentation.cutmix=1.0"]))
    assert uses_one_hot_labels(run, data_spec(run.data))
    x = np.random.default_rng(0).random((64, 8, 8, 3), dtype="float32")
    y = np.eye(4, dtype="float32")[np.arange(64) % 4]
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    mixed = list(mix_batches(batches, run.regularization.augmentation, (8, 8, 3), seed=0).as_numpy_iterator())
    labels = np.concatenate([b[1] for b in mixed])
    np.testing.assert_allclose(labels.sum(1), 1.0, rtol=1e-5)
    assert (labels.max(1) < 1).mean() > 0.5  # most labels are now mixtures
    preview = augmentation_preview(run.regularization, x[:3], copies=2)
    assert preview.shape == (3, 2, 8, 8, 3)


def _train(tmp_path: Path, *overrides: str) -> dict:
    return train_in_process(tmp_path, "trainer.epochs=1", "callbacks.tensorboard.enabled=false", *overrides)


def test_augmented_image_run_writes_the_preview(tmp_path: Path) -> None:
    out = _train(
        tmp_path,
        "data=synthetic",
        "data.input_shape=[8,8,3]",
        "data.num_samples=64",
        "data.num_classes=3",
        "model=cnn",
        "model.dense_units=[8]",
        "regularization=augment",
        "regularization.augmentation.rotation=15",
        "regularization.augmentation.mixup=0.2",
    )
    assert out["status"] == "completed" and np.isfinite(out["test_loss"])
    assert (tmp_path / "augmentation_preview.png").stat().st_size > 1000


def test_two_dimensional_runs_draw_the_decision_boundary(tmp_path: Path) -> None:
    _train(tmp_path, "data=xor", "data.num_samples=100", "model.hidden_units=[4]")
    image = np.asarray(Image.open(tmp_path / "decision_boundary.png"))
    assert image.shape[0] > 300 and image.std() > 10


# ------------------------------------------------------------------------------------ end to end, by the CLI
def test_cli_trains_on_an_image_folder_and_reports_the_corrupt_file(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "pets")
    args = ["data=image_folder", f"data.root={root}", "data.image_size=[16,16]", "model=cnn", "model.dense_units=[8]"]
    result = run_dltool("train", *args, "trainer.epochs=2", "trainer.batch_size=8", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if "unreadable image file" in line]
    assert len(lines) == 1 and "broken.jpg" in lines[0]
    (run_dir,) = run_dirs(tmp_path)
    out = results(run_dir)
    assert out["data"]["class_names"] == ["cat", "dog"] and out["data"]["input_shape"] == [16, 16, 3]
    assert out["data"]["train"] + out["data"]["validation"] + out["data"]["test"] == 24
    assert (run_dir / "confusion_matrix.png").exists() and "test_accuracy" in out
    (row,), _ = predict_files(str(run_dir), [str(root / "dog" / "dog1.png")], tmp_path / "p.csv")
    assert row["input"].endswith("dog1.png") and row["prediction"] in ("cat", "dog")
    assert row["p_cat"] + row["p_dog"] == pytest.approx(1.0)


def test_cli_streams_an_image_folder_then_evaluates_and_predicts_the_run(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "pets")
    args = ["data=image_folder", f"data.root={root}", "data.image_size=[16,16]", "data.stream=true", "model=cnn"]
    args += ["model.dense_units=[8]", "trainer.epochs=2", "trainer.batch_size=8"]
    result = run_dltool("train", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "unreadable image file" in line]
    assert len(lines) == 1 and "broken.jpg" in lines[0]
    (run_dir,) = run_dirs(tmp_path)
    out = results(run_dir)
    assert out["status"] == "completed" and out["epochs_run"] == 2 and out["data"]["class_names"] == ["cat", "dog"]
    assert out["data"]["train"] + out["data"]["validation"] + out["data"]["test"] == 24
    assert 0.0 <= out["test_accuracy"] <= 1.0 and np.isfinite(out["test_loss"])
    for name in ("metrics.csv", "confusion_matrix.png", "history.png", "checkpoints/best.keras", "train.log"):
        assert (run_dir / name).exists(), name
    evaluated = run_dltool("evaluate", str(run_dir), cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    (eval_dir,) = (run_dir / "eval").iterdir()
    metrics = json.loads((eval_dir / "metrics.json").read_text())
    assert metrics["examples"] == out["data"]["test"]
    assert metrics["test_accuracy"] == pytest.approx(out["test_accuracy"], abs=1e-6)  # the same split, decoded alike
    assert (eval_dir / "worst_examples.png").exists()
    rows, _ = predict_files(str(run_dir), [str(root / "dog")], tmp_path / "p.csv")
    assert len(rows) == 12 and {row["prediction"] for row in rows} <= {"cat", "dog"}


def test_cli_csv_without_the_target_column_exits_2_naming_it(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv")
    result = run_dltool("train", "data=csv", f"data.path={path}", "data.target=price", cwd=tmp_path)
    assert result.returncode == 2
    assert "data.target=price: no column 'price'" in result.stderr and "Traceback" not in result.stderr
    assert not run_dirs(tmp_path)


def test_cli_csv_regression_trains_and_reports_test_mae(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", rows=300)
    args = ["data=csv", f"data.path={path}", "data.target=y", "data.number_bins=0", "model.hidden_units=[16]"]
    result = run_dltool(
        "train", *args, "optimizer.learning_rate=0.01", "trainer.epochs=30", "callbacks=minimal", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = results(run_dirs(tmp_path)[0])
    assert out["task"] == "regression" and out["data"]["input_shape"] == [4]
    assert out["test_mae"] < 1.0  # y spans about +-8; a mean predictor's MAE is about 3
    rows = tmp_path / "new.csv"
    rows.write_text("colour,b,a\nred,0,1\nblue,1,0\n")  # other column order, no target: y = 5 and -2
    predicted, _ = predict_files(str(run_dirs(tmp_path)[0]), [str(rows)], tmp_path / "p.csv")
    values = [row["prediction"] for row in predicted]
    np.testing.assert_allclose(values, [5.0, -2.0], atol=1.5)


def test_cli_text_folder_classification_trains_an_lstm(tmp_path: Path) -> None:
    root = text_folder(tmp_path / "reviews", per_class=40)
    args = ["data=text_folder", f"data.root={root}", "data.sequence_length=12", "data.vocab_size=20", "model=rnn"]
    result = run_dltool("train", *args, "model.units=[8]", "trainer.epochs=8", "callbacks=minimal", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = run_dirs(tmp_path)[0]
    out = results(run_dir)
    assert "LSTM" in (run_dir / "model_summary.txt").read_text() and out["data"]["class_names"] == ["neg", "pos"]
    assert out["test_accuracy"] >= 0.8  # the two classes use disjoint sentiment words


# ---------------------------------------------------------------------------------- decisions announced
def test_a_grayscale_folder_is_read_as_grayscale_and_says_so(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(5):
            Image.fromarray(rng.integers(0, 255, (10, 10), dtype=np.uint8), mode="L").save(tmp_path / name / f"{i}.png")
    cfg = ImageFolderConfig(root=str(tmp_path), image_size=[10, 10])
    assert cfg.color_mode == "auto" and data_spec(cfg).input_shape == (10, 10, 1)
    data = load_dataset(cfg, seed=0)
    assert data.x_train.shape[1:] == (10, 10, 1)
    assert data.decisions == ["color_mode=auto: every sampled image is single-channel, so they are read as grayscale"]
    colour = image_folder(tmp_path / "colour", corrupt=False)
    assert data_spec(ImageFolderConfig(root=str(colour), image_size=[10, 10])).input_shape == (10, 10, 3)


def test_a_text_that_is_not_utf8_is_read_and_named(tmp_path: Path) -> None:
    for name, words in (("pos", "good great fine"), ("neg", "bad awful poor")):
        (tmp_path / name).mkdir()
        for i in range(6):
            (tmp_path / name / f"{i}.txt").write_text(f"{words} {i}", encoding="utf-8")
    (tmp_path / "pos" / "latin1.txt").write_bytes("très bien, café".encode("latin-1"))
    data = load_dataset(TextFolderConfig(root=str(tmp_path), sequence_length=8), seed=0)
    (decision,) = data.decisions
    assert decision.startswith("1 file is not UTF-8 (") and "latin1.txt" in decision and "U+FFFD" in decision


def test_a_table_says_which_cells_it_filled_and_which_columns_it_encoded(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv")
    data = load_dataset(CSVConfig(path=str(path), target="y", number_bins=0), seed=0)
    filled, encoded = data.decisions
    assert re.fullmatch(r"column 'b': 9 missing cells filled with -?[\d.e-]+ \(the training median\)", filled)
    assert encoded == "column 'colour': one-hot encoded over 2 categories (blue, red)"
