"""data=csv's image columns (dltool/data/column_inputs.py): paths of image files, decoded as image folders are,
a model input of their own that model=mlp's combiner convolves; training, predict, and the missing-file error."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dltool.data import data_spec, load_dataset
from dltool.data.tables import CSVConfig
from dltool.errors import ConfigError
from tests.test_arrays_io import invoke
from tests.test_combiner import train_saved
from tests.test_cookbook import photos_table


def test_paths_of_image_files_are_an_image_input_beside_the_features(tmp_path: Path) -> None:
    path = photos_table(tmp_path, 40)
    rows = list(csv.DictReader(path.open()))
    rows[3]["photo"] = str((tmp_path / rows[3]["photo"]).resolve())  # an absolute path is read too
    rows[5]["photo"] = ""  # a missing cell: a black image (data.missing=fill)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    cfg = CSVConfig(path=str(path), target="light", image_size=[8, 8], validation_split=0.0, test_split=0.0)
    spec = data_spec(cfg)
    assert {k: (v.shape, v.dtype) for k, v in spec.inputs.items()} == {
        "features": ((3,), "float32"),  # room: one-hot over 3
        "photo": ((8, 8, 3), "float32"),
    }
    data = load_dataset(cfg, seed=0)
    assert data.decisions[-1] == (
        "column 'photo': image (paths of image files (photos/photos_000.jpg...)): decoded at 8x8x3 "
        "(data.image_size, data.color_mode), in [0, 1]; the model input 'photo', convolved by model=mlp's combiner"
    )
    images, labels = data.x_train["photo"], data.y_train.ravel()
    assert images.dtype == np.float32 and images.min() >= 0.0 and images.max() <= 1.0
    brightness = images.reshape(len(images), -1).mean(axis=1)
    present = brightness > 0
    assert present.sum() == 39  # the one missing cell: zeros
    bright = data.spec.class_names.index("bright")
    assert brightness[present & (labels == bright)].min() > 0.5 > brightness[present & (labels != bright)].max()
    grey = load_dataset(dataclasses.replace(cfg, color_mode="grayscale"), seed=0)
    assert grey.x_train["photo"].shape == (40, 8, 8, 1)


def test_a_missing_image_file_is_one_line_naming_the_line_and_the_path(tmp_path: Path) -> None:
    path = photos_table(tmp_path, 12)
    gone = tmp_path / list(csv.DictReader(path.open()))[6]["photo"]
    gone.unlink()
    with pytest.raises(ConfigError) as err:
        data_spec(CSVConfig(path=str(path), target="light"))
    assert str(err.value) == f"{path.resolve()}:8: column 'photo': no image file {gone.resolve()}"
    gone.write_bytes(b"not an image")
    with pytest.raises(ConfigError) as err:
        load_dataset(CSVConfig(path=str(path), target="light", image_size=[8, 8]), seed=0)
    assert str(err.value) == f"{path.resolve()}:8: column 'photo': not a readable image {gone.resolve()}"


def test_the_combiner_sees_the_pixels_and_predicts_new_rows(tmp_path: Path) -> None:
    path = photos_table(tmp_path, 160)
    overrides = ["data=csv", f"data.path={path}", "data.target=light", "data.image_size=[16,16]", "model=mlp"]
    run_dir = train_saved(tmp_path, *overrides, "trainer.epochs=8", "model.hidden_units=[16]")
    found = json.loads((run_dir / "results.json").read_text())
    assert found["status"] == "completed" and found["task"] == "binary"
    summary = (run_dir / "model_summary.txt").read_text()
    assert "photo_conv1 (Conv2D)" in summary and "features (InputLayer)" in summary
    cfg = CSVConfig(path=str(path), target="light", image_size=[16, 16])
    data = load_dataset(cfg, found["seed"])
    majority = np.bincount(data.y_test.astype(int).ravel()).max() / data.size("test")
    assert found["test_accuracy"] > majority + 0.2, (found["test_accuracy"], majority)

    elsewhere = tmp_path / "new"
    new = photos_table(elsewhere, 16, name="new.csv")  # paths relative to the new table's folder
    code, output = invoke("predict", run_dir, new, "--out", tmp_path / "p.csv")
    assert code == 0, output
    written = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert list(written[0]) == ["input", "prediction", "p_bright", "p_dark"] and len(written) == 16
    truth = [r["light"] for r in csv.DictReader(new.open())]
    assert sum(w["prediction"] == t for w, t in zip(written, truth, strict=True)) >= 13
    shutil.rmtree(elsewhere / "photos")
    code, output = invoke("predict", run_dir, new)
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert f"{new.resolve()}:2: column 'photo': no image file" in output
