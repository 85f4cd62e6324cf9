"""model=mlp on data of named inputs and outputs: the combiner (dltool/models/combiner.py), trained from a table's
columns and from an .npz of vectors, token ids and images; evaluate, predict and export of such a run.

The module fixture trains one combiner in-process on a generated table; the commands run through Typer's runner.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from dltool.config.regularization import RegularizationConfig
from dltool.data import load_dataset
from dltool.data.arrays import ArraysConfig
from dltool.data.base import DataSpec, InputSpec, OutputSpec
from dltool.data.tables import CSVConfig
from dltool.errors import ConfigError
from dltool.models.cnn import CNNConfig
from dltool.models.mlp import MLPConfig
from tests.conftest import saved_run
from tests.test_arrays_io import QUICK, invoke

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_combiner")]

MAPPING = [
    "+data.inputs={numbers: [size, urgency], labels: [team]}",
    "+data.targets={priority: priority, hours: hours}",
]


def jobs_table(root: Path, n: int = 500, seed: int = 0, name: str = "jobs.csv") -> Path:
    """A CSV of jobs: numeric ``size`` and ``urgency``, categorical ``team``; targets ``priority`` (low, mid,
    high: from the urgency) and ``hours`` (from the size and the team, plus noise)."""
    rng = np.random.default_rng(seed)
    path = root / name
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["size", "urgency", "team", "priority", "hours"])
        for _ in range(n):
            size, urgency, team = rng.normal(10, 3), rng.random(), rng.choice(["a", "b", "c"])
            priority = "low" if urgency < 0.33 else "mid" if urgency < 0.66 else "high"
            hours = 2.0 * size + {"a": 0.0, "b": 8.0, "c": 16.0}[team] + rng.normal(0, 0.5)
            writer.writerow([f"{size:.3f}", f"{urgency:.3f}", team, priority, f"{hours:.3f}"])
    return path


def train_saved(root: Path, *overrides: str) -> Path:
    """A run directory (with its .hydra/config.yaml, for the commands) trained in-process."""
    return saved_run(root / "run", [*QUICK, *overrides])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The run directory of model=mlp trained on the jobs table's named inputs and outputs, and the table."""
    root = tmp_path_factory.mktemp("combiner")
    path = jobs_table(root)
    return train_saved(root, "data=csv", f"data.path={path}", "model=mlp", "trainer.epochs=12", *MAPPING), path


def test_both_losses_fall_and_the_heads_beat_the_trivial_baselines(trained: tuple[Path, Path]) -> None:
    run_dir, path = trained
    found = json.loads((run_dir / "results.json").read_text())
    assert found["status"] == "completed" and found["task"] == "multioutput"
    with open(run_dir / "metrics.csv") as f:
        epochs = list(csv.DictReader(f))
    for loss in ("priority_loss", "hours_loss"):
        assert float(epochs[-1][loss]) < 0.5 * float(epochs[0][loss]), (loss, epochs[0][loss], epochs[-1][loss])
    cfg = CSVConfig(path=str(path), inputs={"numbers": ["size", "urgency"], "labels": ["team"]})
    cfg.targets = {"priority": "priority", "hours": "hours"}
    data = load_dataset(cfg, found["seed"])
    majority = np.bincount(data.y_test["priority"]).max() / len(data.y_test["priority"])
    mean_mae = float(np.abs(data.y_test["hours"] - data.y_train["hours"].mean()).mean())
    assert found["test_priority_accuracy"] > majority + 0.2, (found["test_priority_accuracy"], majority)
    assert found["test_hours_mae"] < 0.25 * mean_mae, (found["test_hours_mae"], mean_mae)
    summary = (run_dir / "model_summary.txt").read_text()
    for part in ("numbers (InputLayer)", "labels (InputLayer)", "combine (Concatenate)", "hidden2 (Dense)"):
        assert part in summary, part
    assert "members (MemberInputs)" in summary  # the default ensemble of 32 members
    assert "priority (MemberHeads)" in summary and "hours (TargetScale)" in summary


def test_evaluate_predict_and_export_read_the_combiner(trained: tuple[Path, Path], tmp_path: Path) -> None:
    run_dir, _ = trained
    code, output = invoke("evaluate", run_dir)
    assert code == 0, output
    (eval_dir,) = (run_dir / "eval").iterdir()
    metrics = json.loads((eval_dir / "metrics.json").read_text())
    saved = json.loads((run_dir / "results.json").read_text())
    for key in ("test_loss", "test_priority_accuracy", "test_hours_mae"):
        assert metrics[key] == pytest.approx(saved[key], rel=1e-4, abs=1e-5), key

    new = jobs_table(tmp_path, 30, seed=5, name="new.csv")
    rows = list(csv.DictReader(new.open()))
    code, output = invoke("predict", run_dir, new, "--out", tmp_path / "p.csv")
    assert code == 0, output
    written = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert list(written[0]) == ["input", "priority", "hours"] and len(written) == 30
    assert sum(w["priority"] == r["priority"] for w, r in zip(written, rows, strict=True)) >= 20
    errors = [abs(float(w["hours"]) - float(r["hours"])) for w, r in zip(written, rows, strict=True)]
    spread = np.std([float(r["hours"]) for r in rows])
    assert np.mean(errors) < 0.25 * spread, (np.mean(errors), spread)

    code, output = invoke("export", run_dir, "format=savedmodel", f"out={tmp_path / 'model'}")
    assert code == 0, output
    assert float(re.search(r"max abs difference from the checkpoint (\S+)", output).group(1)) < 1e-5


def tokens_and_images(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """x_words: 8 token ids (0: padding), one of the markers 1 or 2 planted, which makes y_topic; x_photo: 8x8 RGB
    images, bright or dark, which makes y_light; x_extra: noise."""
    rng = np.random.default_rng(seed)
    words = rng.integers(3, 40, (n, 8))
    words[:, 5:] = np.where(rng.random((n, 3)) < 0.5, 0, words[:, 5:])  # some sequences end in padding
    topic = rng.integers(0, 2, n)
    words[np.arange(n), rng.integers(0, 5, n)] = 1 + topic
    light = rng.integers(0, 2, n)
    photo = rng.random((n, 8, 8, 3)).astype("float32") * 0.5 + 0.5 * light[:, None, None, None]
    return {"x_words": words, "x_photo": photo, "x_extra": rng.random((n, 3)), "y_topic": topic, "y_light": light}


def test_token_ids_and_images_are_embedded_and_convolved(tmp_path: Path) -> None:
    path = tmp_path / "mixed.npz"
    np.savez(path, **tokens_and_images(400))
    overrides = ["model=mlp", "model.hidden_units=[32]", "trainer.epochs=10"]
    run_dir = train_saved(tmp_path, "data=arrays", f"data.path={path}", *overrides)
    found = json.loads((run_dir / "results.json").read_text())
    summary = (run_dir / "model_summary.txt").read_text()
    for part in ("words_embedding (Embedding)", "words_mean (TokenMean)", "photo_conv3 (Conv2D)", "photo_pool"):
        assert part in summary, part
    data = load_dataset(ArraysConfig(path=str(path)), found["seed"])
    for name in ("topic", "light"):
        majority = np.bincount(data.y_test[name].astype(int).ravel()).max() / data.size("test")
        assert found[f"test_{name}_accuracy"] > majority + 0.2, (name, found[f"test_{name}_accuracy"], majority)


def test_padding_only_sequences_average_to_zeros_not_nan() -> None:
    import keras

    from dltool.models import build_model

    spec = DataSpec((4,), "binary", 1, inputs={"words": InputSpec((4,), "int32", 9), "x": InputSpec((2,))})
    model = build_model(MLPConfig(hidden_units=[4]), spec, RegularizationConfig())
    encoder = keras.Model(model.inputs, model.get_layer("words_mean").output)
    pooled = encoder.predict({"words": np.array([[0, 0, 0, 0], [3, 0, 0, 0]]), "x": np.zeros((2, 2))}, verbose=0)
    assert np.all(pooled[0] == 0.0) and np.isfinite(pooled).all() and np.any(pooled[1] != 0.0)


def test_other_models_refuse_named_data_naming_the_combiner_and_graph() -> None:
    from dltool.models import build_model

    spec = DataSpec((4,), "multioutput", 1, inputs={"a": InputSpec((4,))}, outputs={"b": OutputSpec("binary")})
    with pytest.raises(ConfigError) as err:
        build_model(CNNConfig(), spec, RegularizationConfig())
    assert str(err.value) == (
        "model=cnn: the data has named inputs and outputs (a, ->, b); train them with model=mlp (the combiner) "
        "or declare a model=graph (docs/graph.md)"
    )
