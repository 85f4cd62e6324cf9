"""data=csv's sequence columns (dltool/data/column_inputs.py): numbers in the feature matrix, tokens as a model
input of their own read by model=mlp's combiner; training, and predict on new rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from dltool.data import data_spec, load_dataset
from dltool.data.columns import infer
from dltool.data.tables import CSVConfig
from dltool.errors import ConfigError
from tests.test_arrays_io import invoke
from tests.test_combiner import train_saved

WORDS = ["red", "blue", "green", "tiny", "huge", "old", "new"]


def signals_table(root: Path, n: int = 300, seed: int = 0, name: str = "signals.csv") -> Path:
    """A CSV of ``size`` (noise), ``signal`` (2 to 40 numbers about 0 for ``no``, about 1 for ``yes``), ``tags``
    (1 to 5 words, and ``spam`` for ``yes`` or ``ham`` for ``no``; every 17th cell missing) and ``label``."""
    rng = np.random.default_rng(seed)
    path = root / name
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["size", "signal", "tags", "label"])
        for i in range(n):
            label = int(rng.integers(0, 2))
            signal = " ".join(f"{v:.2f}" for v in rng.normal(label, 1.0, int(rng.integers(2, 40))))
            words = [*rng.choice(WORDS, int(rng.integers(1, 6))).tolist(), "spam" if label else "ham"]
            rng.shuffle(words)
            tags = " ".join(words) if i % 17 else ""
            writer.writerow([f"{rng.normal():.3f}", signal, tags, "yes" if label else "no"])
    return path


def test_numbers_separated_by_spaces_infer_a_sequence() -> None:
    cells = np.array(["1 2.5 3", "4 5", "6", "-1e3 2"], dtype=object)
    assert infer(cells, numeric=False) == ("sequence", "space-separated numbers, 2 in the median cell")
    assert infer(np.array(["1 2", "3", "4"], dtype=object), numeric=False)[0] == "category"  # mostly single
    assert infer(np.array(["1 b", "a c d"], dtype=object), numeric=False)[0] == "text"


def test_a_token_column_becomes_its_own_input_and_numbers_join_the_features(tmp_path: Path) -> None:
    path = signals_table(tmp_path)
    cfg = CSVConfig(path=str(path), target="label", columns={"tags": "sequence"}, sequence_length=6, number_bins=0)
    spec = data_spec(cfg)
    assert spec.task == "binary" and spec.outputs is None
    assert {k: (v.shape, v.dtype, v.vocab_size) for k, v in spec.inputs.items()} == {
        "features": ((7,), "float32", None),  # size, and the signal's 6 values
        "tags": ((6,), "int32", len(WORDS) + 2 + 2),  # the words, spam, ham, padding and unknown
    }
    data = load_dataset(cfg, seed=0)
    assert data.spec == spec and data.x_train["tags"].dtype == np.int32
    rows = list(csv.DictReader(path.open()))
    assert data.decisions[0].startswith("column 'signal': sequence of numbers (space-separated numbers, ")
    mean, std = (float(v) for v in data.decisions[0].split("mean ")[1].split(" and std "))
    values = np.concatenate([np.array([float(v) for v in r["signal"].split()[:6]]) for r in rows])
    assert abs(mean - values.mean()) < 0.1 and abs(std - values.std()) < 0.1  # the training rows' of about all
    features = np.concatenate([data.x_train["features"], data.x_val["features"], data.x_test["features"]])
    assert features.shape == (300, 7) and np.isfinite(features).all()
    short = sum(len(r["signal"].split()) < 6 for r in rows)
    assert short > 0 and (features[:, -1] == 0).sum() == short  # padded with 0 after standardizing
    assert data.decisions[1] == (
        f"column 'tags': sequence of tokens (data.columns.tags): 6 ids (data.sequence_length), a vocabulary of "
        f"{len(WORDS) + 4} fitted on the training split; the model input 'tags', embedded by model=mlp's combiner"
    )
    ids = np.concatenate([data.x_train["tags"], data.x_val["tags"], data.x_test["tags"]])
    assert ids.min() == 0 and ids.max() < spec.inputs["tags"].vocab_size
    assert (ids == 0).all(axis=1).sum() == sum(r["tags"] == "" for r in rows)  # a missing cell: padding only


def test_the_combiner_learns_from_tokens_and_predicts_new_rows(tmp_path: Path) -> None:
    path = signals_table(tmp_path, 400)
    overrides = ["data=csv", f"data.path={path}", "data.target=label", "+data.columns={tags: sequence, signal: number}"]
    with pytest.raises(ConfigError, match=r"data\.columns\.signal=number: column 'signal' holds text"):
        train_saved(tmp_path / "bad", *overrides, "model=mlp")
    overrides[-1] = "+data.columns={tags: sequence}"
    run_dir = train_saved(tmp_path, *overrides, "model=mlp", "trainer.epochs=10", "data.features=[size, tags]")
    found = json.loads((run_dir / "results.json").read_text())
    assert found["status"] == "completed" and found["task"] == "binary"
    assert "tags_embedding (Embedding)" in (run_dir / "model_summary.txt").read_text()
    data = load_dataset(CSVConfig(path=str(path), target="label", columns={"tags": "sequence"}), found["seed"])
    majority = np.bincount(data.y_test.astype(int).ravel()).max() / data.size("test")
    assert found["test_accuracy"] > majority + 0.2, (found["test_accuracy"], majority)

    code, output = invoke("evaluate", run_dir)
    assert code == 0, output
    (eval_dir,) = (run_dir / "eval").iterdir()
    metrics = json.loads((eval_dir / "metrics.json").read_text())
    assert metrics["test_accuracy"] == pytest.approx(found["test_accuracy"], abs=1e-6)

    new = signals_table(tmp_path, 20, seed=9, name="new.csv")
    code, output = invoke("predict", run_dir, new, "--out", tmp_path / "p.csv")
    assert code == 0, output
    written = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert list(written[0]) == ["input", "prediction", "p_no", "p_yes"] and written[0]["input"] == f"{new}:2"
    truth = [r["label"] for r in csv.DictReader(new.open())]
    assert sum(w["prediction"] == t for w, t in zip(written, truth, strict=True)) >= 15


def test_token_columns_are_refused_where_they_cannot_be_read(tmp_path: Path) -> None:
    from dltool.config.regularization import RegularizationConfig
    from dltool.models import build_model
    from dltool.models.cnn import CNNConfig

    path = signals_table(tmp_path, 30)
    spec = data_spec(CSVConfig(path=str(path), target="label", columns={"tags": "sequence"}))
    with pytest.raises(ConfigError, match=r"^model=cnn: the data has named inputs and outputs \(features, tags, ->"):
        build_model(CNNConfig(), spec, RegularizationConfig())
    cfg = CSVConfig(path=str(path), columns={"tags": "sequence"}, inputs={"a": ["size", "tags"]})
    cfg.targets = {"label": "label"}
    with pytest.raises(ConfigError) as err:
        data_spec(cfg)
    assert str(err.value).startswith("data.inputs.a: column 'tags' (sequence) is read as a model input of its own")
