"""A table's several targets of different kinds: one named output each (dltool/data/tabular.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from dltool.data import data_spec, load_dataset
from dltool.data.tables import CSVConfig
from dltool.errors import ConfigError
from tests.conftest import dltool_in_process, results, run_dirs

FEATURES = ["urgency", "size", "team"]
QUICK = [
    "trainer.epochs=30",
    "trainer.batch_size=32",
    "optimizer.learning_rate=0.01",
    "model.hidden_units=[32]",
    "callbacks.early_stopping.enabled=false",
    "callbacks.tensorboard.enabled=false",
]


def tickets(path: Path, rows: int = 300, seed: int = 0, targets: bool = True) -> Path:
    """priority (low/mid/high) follows urgency; hours = 10 + 8 * size (+ noise); team is noise."""
    rng = np.random.default_rng(seed)
    urgency, size = rng.uniform(0, 3, rows), rng.normal(0, 1, rows)
    priority = np.array(["low", "mid", "high"])[urgency.astype(int)]
    hours = 10 + 8 * size + rng.normal(0, 0.5, rows)
    team = rng.choice(["a", "b", "c"], rows)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["urgency", "size", "team", *(["priority", "hours"] if targets else [])])
        for i in range(rows):
            cells = [f"{urgency[i]:.4f}", f"{size[i]:.4f}", team[i]]
            writer.writerow([*cells, *([priority[i], f"{hours[i]:.3f}"] if targets else [])])
    return path


def test_targets_of_different_kinds_train_a_head_each_and_predict_both(tmp_path: Path) -> None:
    path = tickets(tmp_path / "t.csv")
    found = dltool_in_process(
        "train", "data=csv", f"data.path={path}", "data.target=[priority, hours]", *QUICK, cwd=tmp_path
    )
    assert found.returncode == 0, found.stdout + found.stderr
    run_dir = run_dirs(tmp_path)[-1]
    run = results(run_dir)
    assert run["task"] == "multioutput", run
    data = load_dataset(CSVConfig(path=str(path), target=["priority", "hours"]), seed=run["seed"])
    labels, hours = data.y_train["priority"], data.y_train["hours"][:, 0]
    majority = np.bincount(data.y_test["priority"]).max() / data.size("test")
    mean_error = np.abs(data.y_test["hours"][:, 0] - hours.mean()).mean()
    assert run["test_priority_accuracy"] > majority + 0.2, (run, majority)
    assert run["test_hours_mae"] < mean_error / 3, (run, mean_error)
    epochs = list(csv.DictReader((run_dir / "metrics.csv").open()))
    for loss in ("priority_loss", "hours_loss"):
        assert float(epochs[-1][loss]) < float(epochs[0][loss]) / 2, (loss, epochs[0], epochs[-1])
    assert len(labels) == data.size("train") and data.spec.outputs["priority"].class_names == ("high", "low", "mid")

    new = tickets(tmp_path / "new.csv", rows=40, seed=5, targets=False)
    predicted = dltool_in_process("predict", str(run_dir), str(new), "--out", str(tmp_path / "p.csv"), cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    written = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert list(written[0]) == ["input", "priority", "hours"] and len(written) == 40
    truth = list(csv.DictReader(tickets(tmp_path / "truth.csv", rows=40, seed=5).open()))
    hits = sum(w["priority"] == t["priority"] for w, t in zip(written, truth, strict=True))
    errors = [abs(float(w["hours"]) - float(t["hours"])) for w, t in zip(written, truth, strict=True)]
    assert hits >= 28 and np.mean(errors) < 3, (hits, np.mean(errors))

    evaluated = dltool_in_process("evaluate", str(run_dir), cwd=tmp_path)
    assert evaluated.returncode == 0 and "test_hours_mae" in evaluated.stdout, evaluated.stdout


def test_named_targets_without_inputs_and_all_numeric_targets(tmp_path: Path) -> None:
    path = str(tickets(tmp_path / "t.csv"))
    named = load_dataset(CSVConfig(path=path, targets={"p": "priority", "h": "hours"}), seed=0)
    assert (named.spec.task, list(named.spec.outputs)) == ("multioutput", ["p", "h"])
    single = data_spec(CSVConfig(path=path, target="priority", features=FEATURES))  # the same features
    assert named.spec.inputs is None and named.x_train.shape[1] == single.input_shape[0]
    assert named.y_train["p"].dtype.name == "int32" and named.y_train["h"].shape == (named.size("train"), 1)
    assert named.spec.outputs["h"].target_scale is not None
    numeric = data_spec(CSVConfig(path=path, target=["hours", "size"]))  # all regressions: one head of 2 units
    assert (numeric.task, numeric.num_classes, numeric.outputs) == ("regression", 2, None)
    classes = data_spec(CSVConfig(path=path, target=["priority", "team"], task="multiclass"))
    assert {name: out.num_classes for name, out in classes.outputs.items()} == {"priority": 3, "team": 3}


def test_a_missing_target_drops_the_row(tmp_path: Path) -> None:
    path = tickets(tmp_path / "t.csv", rows=100)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ","  # no hours
    cells = lines[5].split(",")
    lines[5] = ",".join([*cells[:3], "NA", cells[4]])  # no priority
    path.write_text("\n".join(lines) + "\n")
    data = load_dataset(CSVConfig(path=str(path), target=["priority", "hours"]), seed=0)
    assert sum(data.size(s) for s in ("train", "val", "test")) == 98
    assert "2 rows dropped" in data.decisions[0]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target": ["priority", "hours"], "stream": True}, "data.stream=true: .*read in memory only"),
        ({"target": ["priority", "hours"], "task": "regression"}, "a regression target must be numeric"),
        ({"targets": {"p": "priorty"}}, r"data.targets.p=priorty: no column 'priorty'"),
        ({"targets": {}}, "data.targets is empty"),
    ],
)
def test_bad_targets_are_one_line(tmp_path: Path, overrides: dict, message: str) -> None:
    path = str(tickets(tmp_path / "t.csv", rows=50))
    with pytest.raises(ConfigError, match=message) as err:
        data_spec(CSVConfig(path=path, **overrides))
    assert "\n" not in str(err.value)


def test_columns_read_as_inputs_of_their_own_stay_so_beside_several_outputs(tmp_path: Path) -> None:
    from tests.conftest import train_in_process

    path = str(tickets(tmp_path / "t.csv", rows=100))
    table = ["data=csv", f"data.path={path}", "data.target=[priority, hours]", "data.embed_categories=true"]
    spec = data_spec(CSVConfig(path=path, target=["priority", "hours"], embed_categories=True, max_categories=2))
    assert (sorted(spec.inputs), list(spec.outputs)) == (["features", "team"], ["priority", "hours"])
    (tmp_path / "run").mkdir()
    run = train_in_process(tmp_path / "run", *table, "data.max_categories=2", *QUICK[1:], "trainer.epochs=2")
    assert run["status"] == "completed" and "test_hours_mae" in run and "test_priority_accuracy" in run, run


def test_a_run_of_named_targets_exports_its_named_outputs(tmp_path: Path) -> None:
    path = tickets(tmp_path / "t.csv", rows=100)
    table = ["data=csv", f"data.path={path}", "+data.targets={p: priority, h: hours}"]
    trained = dltool_in_process("train", *table, *QUICK[1:], "trainer.epochs=2", cwd=tmp_path)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    exported = dltool_in_process("export", str(run_dirs(tmp_path)[-1]), cwd=tmp_path)
    assert exported.returncode == 0 and "max abs difference" in exported.stdout, exported.stdout + exported.stderr
