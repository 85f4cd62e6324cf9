"""Typed tables: regression targets trained standardized, column types, Parquet."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from dltool.data import check_data, data_spec, load_dataset
from dltool.data.tables import CSVConfig
from dltool.data.tabular import fitted_encoder, read_table
from dltool.errors import ConfigError
from tests.conftest import train_in_process


def diabetes_csv(path: Path, factor: float) -> Path:
    """scikit-learn's diabetes table, its target multiplied by ``factor``."""
    bunch = load_diabetes()
    table = np.column_stack([bunch.data, bunch.target * factor])
    np.savetxt(path, table, delimiter=",", header=",".join([*bunch.feature_names, "target"]), comments="")
    return path


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_target_times_10000_learns_as_well_as_the_unscaled_one(tmp_path: Path, optimizer: str) -> None:
    relative = []
    for factor in (1.0, 10_000.0):
        (tmp_path / f"run{factor:g}").mkdir()
        path = diabetes_csv(tmp_path / f"d{factor:g}.csv", factor)
        out = train_in_process(
            tmp_path / f"run{factor:g}",
            "data=csv",
            f"data.path={path}",
            f"optimizer={optimizer}",
            "trainer.epochs=15",
            "callbacks=minimal",
        )
        target_std = float(np.std(load_diabetes().target * factor))
        relative.append(out["test_mae"] / target_std)
    # predicting the mean gives ~0.85 std; both runs learn, and the same (the scale is undone in the model)
    assert relative[0] < 0.7 and relative[1] < 0.7
    assert relative[1] == pytest.approx(relative[0], rel=0.02)


def test_a_large_valued_regression_exports_to_tflite_within_float32_rounding(tmp_path: Path) -> None:
    from tests.conftest import dltool_in_process, run_dirs

    path = diabetes_csv(tmp_path / "d.csv", 10_000.0)  # predictions ~1e6: float32 steps of ~0.06
    trained = dltool_in_process("train", "data=csv", f"data.path={path}", "trainer.epochs=1", cwd=tmp_path)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    exported = dltool_in_process("export", str(run_dirs(tmp_path)[-1]), "format=tflite", cwd=tmp_path)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    difference = float(re.search(r"max abs difference from the checkpoint (\S+)", exported.stdout).group(1))
    assert difference < 1e-5 * 4e6  # within the tolerance times the largest prediction


def typed_table(path: Path, rows: int = 120) -> Path:
    """y (spam/ham) follows the words of ``message``; ``size`` a number, ``flag`` 0/1, ``colour`` 3 values,
    ``shop`` 11 values (more than max_categories=4), ``paid`` yes/no."""
    rng = np.random.default_rng(0)
    spam = ["win cash now", "free prize claim", "cash offer win big"]
    ham = ["see you at lunch", "call me later please", "meeting moved to noon"]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["size", "flag", "colour", "shop", "paid", "message", "y"])
        for i in range(rows):
            label = i % 2
            words = (spam if label else ham)[i % 3] + f" {i}"  # the row number keeps every message distinct
            shop = f"shop{i % 12}" if i % 12 < 11 else f"shop{i % 7}"
            colour = ("red", "green", "blue")[i % 3]
            writer.writerow([f"{rng.normal():.3f}", i % 3 % 2, colour, shop, ("no", "yes")[i % 5 % 2], words, label])
    return path


def test_column_types_are_inferred_encoded_and_announced(tmp_path: Path) -> None:
    cfg = CSVConfig(
        path=str(typed_table(tmp_path / "t.csv")), target="y", max_categories=4, text_tokens=30, number_bins=0
    )
    data = load_dataset(cfg, seed=0)
    # size 1 + flag 1 + colour 3 + shop 4 (its 3 most frequent of 11, and <other>) + paid 2 (one-hot) + message 30
    assert data_spec(cfg).input_shape == (41,) and data.x_train.shape[1] == 41
    decisions = "\n".join(data.decisions)
    assert "column 'flag': binary (numbers that are all 0 or 1): its 0/1 values kept" in decisions
    assert "column 'colour': one-hot encoded over 3 categories (blue, green, red)" in decisions
    assert "column 'shop': 11 categories; one-hot encoded over the 3 most frequent in the training split" in decisions
    assert re.search(r"column 'message': text \(tf-idf, 30 tokens .*120 distinct values in 120 rows", decisions)
    assert set(np.unique(data.x_train[:, 1])) == {0.0, 1.0}  # flag, not standardized
    shop = data.x_train[:, 5:9]
    assert (shop.sum(1) == 1).all() and shop[:, 3].sum() > 0  # every row in one column; some are <other>
    assert (data.x_train[:, -30:] > 0).any(1).all()  # every message has TF-IDF weights
    encoder, table = fitted_encoder(cfg, seed=0), read_table(cfg)
    whole = encoder.encode(table)
    np.testing.assert_array_equal(encoder.encode(table, columns=["message", "size"]), whole[:, [0, *range(11, 41)]])
    with pytest.raises(ConfigError, match=r"^y: not a feature column; feature columns: size, flag, colour, shop"):
        encoder.encode(table, columns=["y"])


def test_declared_column_types_override_the_inferred_ones(tmp_path: Path) -> None:
    path = str(typed_table(tmp_path / "t.csv"))
    cfg = CSVConfig(
        path=path, target="y", columns={"paid": "binary", "message": "category", "flag": "number"}, number_bins=0
    )
    data = load_dataset(cfg, seed=0)
    assert "column 'paid': binary (data.columns.paid): 1 for 'yes', 0 for 'no'" in data.decisions
    assert data.x_train.shape[1] == 1 + 1 + 3 + 11 + 1 + 50  # message: its 49 most frequent values and <other>
    assert abs(float(data.x_train[:, 1].mean())) < 1e-5  # flag standardized as a number
    with pytest.raises(ConfigError, match=r"data.columns.message=txet: unknown column type \(did you mean text\?\); "):
        check_data(CSVConfig(path=path, target="y", columns={"message": "txet"}))
    with pytest.raises(ConfigError, match=r"data.columns.mesage: no column 'mesage' .*\(did you mean message\?\)"):
        check_data(CSVConfig(path=path, target="y", columns={"mesage": "text"}))
    with pytest.raises(ConfigError, match=r"data.columns.colour=binary: column 'colour' holds 3 values, not 2"):
        check_data(CSVConfig(path=path, target="y", columns={"colour": "binary"}))
    with pytest.raises(ConfigError, match=r"data.columns.colour=number: column 'colour' holds text \('red'\)"):
        check_data(CSVConfig(path=path, target="y", columns={"colour": "number"}))


def test_a_text_column_is_learned_and_new_rows_are_encoded_alike(tmp_path: Path) -> None:
    path = typed_table(tmp_path / "t.csv", rows=200)
    (tmp_path / "run").mkdir()
    out = train_in_process(
        tmp_path / "run",
        "data=csv",
        f"data.path={path}",
        "data.target=y",
        "data.features=[message]",
        "trainer.epochs=8",
        "callbacks=minimal",
    )
    assert out["test_accuracy"] >= 0.95  # the words tell spam from ham
    cfg = CSVConfig(path=str(path), target="y", features=["message"])
    encoder = fitted_encoder(cfg, seed=42)
    (tmp_path / "new.csv").write_text("message\nwin a free prize\nlunch at noon\n")
    _, x = encoder.read(tmp_path / "new.csv", ",")
    data = load_dataset(cfg, seed=42)
    assert x.shape == (2, 5000) and data.x_train.shape[1] == 5000
    every_split = np.concatenate([data.x_train, data.x_val, data.x_test])  # the vocabulary fitted again is the same
    np.testing.assert_allclose(np.sort(encoder.encode(read_table(cfg)), 0), np.sort(every_split, 0), rtol=1e-6)
    vocabulary = encoder.text["message"].layer.get_vocabulary()
    assert x[0, vocabulary.index("free")] > 0 and x[1, vocabulary.index("lunch")] > 0


def test_a_parquet_table_loads_as_its_csv(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = typed_table(tmp_path / "t.csv")
    with open(path, newline="") as f:
        header, *rows = list(csv.reader(f))
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    typed = {n: [float(v) for v in values] if n == "size" else values for n, values in columns.items()}
    typed["flag"] = [int(v) for v in columns["flag"]]
    pq.write_table(pa.table(typed), tmp_path / "t.parquet")
    from_csv = load_dataset(CSVConfig(path=str(path), target="y", text_tokens=30), seed=1)
    from_parquet = load_dataset(CSVConfig(path=str(tmp_path / "t.parquet"), target="y", text_tokens=30), seed=1)
    for split in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(from_parquet, split), getattr(from_csv, split))
    assert from_parquet.decisions == from_csv.decisions
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(ConfigError, match=r"bad\.parquet: not a readable Parquet file"):
        check_data(CSVConfig(path=str(tmp_path / "bad.parquet"), target="y"))


def test_target_scale_predicts_in_units_with_the_gradient_of_standardized_targets(tmp_path: Path) -> None:
    import keras
    import tensorflow as tf

    from dltool.data.synthetic import FunctionConfig
    from dltool.models import TargetScale

    data = load_dataset(FunctionConfig(), seed=0)  # any regression data set, not only tables
    (mean,), (std,) = data.spec.target_scale
    assert mean == pytest.approx(float(data.y_train.mean()), rel=1e-5)
    assert std == pytest.approx(float(data.y_train.std()), rel=1e-5)
    layer = TargetScale(mean=[100.0, -3.0], std=[10.0, 0.5])
    z = tf.Variable([[0.5, 2.0], [-1.0, 0.0]])
    y = tf.constant([[110.0, -2.0], [95.0, -3.5]])
    with tf.GradientTape() as tape:
        predicted = layer(z)
        loss = keras.losses.MeanSquaredError()(y, predicted)
    np.testing.assert_allclose(predicted.numpy(), [[105.0, -2.0], [90.0, -3.0]])
    standardized = (y.numpy() - [100.0, -3.0]) / [10.0, 0.5]
    expected = 2 * (z.numpy() - standardized) / z.numpy().size  # d/dz of the MSE of standardized targets
    np.testing.assert_allclose(tape.gradient(loss, z).numpy(), expected, rtol=1e-5)
    model = keras.Sequential([keras.Input((2,)), layer])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(z.numpy(), verbose=0), predicted.numpy())


def test_number_columns_are_also_encoded_piecewise_linearly_over_quantile_bins(tmp_path: Path) -> None:
    path = tmp_path / "steps.csv"
    rng = np.random.default_rng(0)
    x, flag = rng.uniform(0, 10, 200), rng.integers(0, 2, 200)
    np.savetxt(path, np.column_stack([x, flag, x > 5]), delimiter=",", header="x,flag,y", comments="", fmt="%.4f")
    cfg = CSVConfig(path=str(path), target="y", number_bins=4)
    data = load_dataset(cfg, seed=0)
    # x: its standardized value and 4 bins; flag (0/1): its value alone
    assert data_spec(cfg).input_shape == (6,) and data.x_train.shape[1] == 6
    assert "columns 'x': standardized, and piecewise-linear over 4 quantile bins of the training split" in "\n".join(
        data.decisions
    )
    order = np.argsort(data.x_train[:, 0])
    bins = data.x_train[order, 1:5]
    assert bins.min() == 0.0 and bins.max() == 1.0
    assert (np.diff(bins, axis=0) >= 0).all()  # every bin's entry grows with x
    assert bins.sum(1) == pytest.approx(np.linspace(0, 4, len(bins)), abs=0.2)  # equal-count bins
    assert set(np.unique(data.x_train[:, 5])) == {0.0, 1.0}
