"""data.embed_categories: a category column of more than data.max_categories values read as an integer id per
value, a model input of its own that model=mlp's combiner embeds (dltool/data/column_inputs.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from dltool.data import data_spec, load_dataset
from dltool.data.tables import CSVConfig
from tests.test_arrays_io import invoke
from tests.test_combiner import train_saved

CITIES = [f"city{i:02d}" for i in range(30)]


def cities_table(root: Path, n: int = 600, seed: int = 0, name: str = "cities.csv") -> Path:
    """A CSV of ``size`` (noise), ``city`` (30 values; a few cells missing) and ``busy`` (yes for the cities of an
    even number, else no)."""
    rng = np.random.default_rng(seed)
    path = root / name
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["size", "city", "busy"])
        for i in range(n):
            city = int(rng.integers(0, len(CITIES)))
            writer.writerow([f"{rng.normal():.3f}", CITIES[city] if i % 50 else "", "yes" if city % 2 == 0 else "no"])
    return path


def test_a_category_of_many_values_becomes_an_id_input(tmp_path: Path) -> None:
    path = cities_table(tmp_path, 200)
    one_hot = data_spec(CSVConfig(path=str(path), target="busy", max_categories=10, number_bins=0))
    assert one_hot.inputs is None and one_hot.input_shape == (1 + 10,)  # 9 most frequent and <other>
    cfg = CSVConfig(path=str(path), target="busy", max_categories=10, embed_categories=True, number_bins=0)
    spec = data_spec(cfg)
    assert {k: (v.shape, v.dtype, v.vocab_size) for k, v in spec.inputs.items()} == {
        "features": ((1,), "float32", None),
        "city": ((1,), "int32", 32),  # 30 cities, <missing>, and the unknown id 0
    }
    data = load_dataset(cfg, seed=0)
    (line,) = [d for d in data.decisions if d.startswith("column 'city'")]
    seen = len(np.unique(data.x_train["city"]))
    assert line == (
        "column 'city': category (30 distinct values in 196 rows, 0% with spaces): 31 values, over "
        f"data.max_categories=10: an integer id each, {seen} found in the training split (0: any other value; "
        "data.embed_categories); the model input 'city', embedded by model=mlp's combiner"
    )
    ids = np.concatenate([data.x_train["city"], data.x_val["city"], data.x_test["city"]])
    assert ids.shape == (200, 1) and ids.dtype == np.int32 and data.x_train["city"].min() >= 1
    assert ids.max() == seen  # ids 1.. for the training split's values; val and test values not in it are 0


def test_the_combiner_embeds_the_ids_and_predicts_new_rows(tmp_path: Path) -> None:
    path = cities_table(tmp_path)
    overrides = ["data=csv", f"data.path={path}", "data.target=busy", "data.max_categories=10"]
    run_dir = train_saved(tmp_path, *overrides, "data.embed_categories=true", "model=mlp", "trainer.epochs=15")
    found = json.loads((run_dir / "results.json").read_text())
    assert "city_embedding (Embedding)" in (run_dir / "model_summary.txt").read_text()
    import keras

    model = keras.saving.load_model(run_dir / "checkpoints" / "best.keras")
    assert model.get_layer("city_embedding").output_dim == 16  # min(50, (31 + 1 + 1) // 2)
    cfg = CSVConfig(path=str(path), target="busy", max_categories=10, embed_categories=True)
    data = load_dataset(cfg, found["seed"])
    majority = np.bincount(data.y_test.astype(int).ravel()).max() / data.size("test")
    assert found["test_accuracy"] > majority + 0.2, (found["test_accuracy"], majority)

    new = cities_table(tmp_path, 30, seed=3, name="new.csv")
    code, output = invoke("predict", run_dir, new, "--out", tmp_path / "p.csv")
    assert code == 0, output
    written = list(csv.DictReader((tmp_path / "p.csv").open()))
    truth = [r["busy"] for r in csv.DictReader(new.open())]
    assert len(written) == 30 and sum(w["prediction"] == t for w, t in zip(written, truth, strict=True)) >= 24
