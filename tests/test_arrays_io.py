"""data=arrays (named arrays of an .npz file) with model=graph, and evaluate, predict, export on such a run.

The module fixture trains one two-input, three-output graph in-process on a generated file; the
commands under test then run in-process through Typer's runner.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dltool.cli import app
from dltool.data import data_spec, load_dataset
from dltool.data.arrays import ArraysConfig
from dltool.errors import ConfigError
from tests.conftest import saved_run
from tests.test_cookbook import table_file

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_arrays_io")]

# two inputs, three heads: the class needs both inputs, the flag and the amount one each
GRAPH = """\
name: graph
inputs: {a: {}, b: {}}
nodes:
  both: {merge: concatenate, inputs: [a, b]}
  hidden: {layer: Dense, args: {units: 32, activation: relu}}
  kind: {layer: Dense, inputs: hidden, args: {units: 3, activation: softmax}}
  flag: {layer: Dense, inputs: hidden, args: {units: 1, activation: sigmoid}}
  amount: {layer: Dense, inputs: hidden, args: {units: 1}}
outputs: {kind: {}, flag: {}, amount: {}}
"""
QUICK = [
    "trainer.epochs=25",
    "trainer.batch_size=32",
    "optimizer.learning_rate=0.01",
    "callbacks.early_stopping.enabled=false",
    "callbacks.tensorboard.enabled=false",
]


def two_inputs_three_targets(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Arrays x_a (n, 4), x_b (n, 3) and targets y_kind (3 classes), y_flag (0/1), y_amount (float)."""
    rng = np.random.default_rng(seed)
    a, b = rng.random((n, 4)).astype("float32"), rng.random((n, 3)).astype("float32")
    return {
        "x_a": a,
        "x_b": b,
        "y_kind": np.argmax(a[:, :3] + b, axis=1),
        "y_flag": (a[:, 3] > 0.5).astype(np.int64),
        "y_amount": 2.0 * a[:, 0] - b[:, 1] + rng.normal(0, 0.05, n),
    }


def invoke(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def train_graph(root: Path, graph: str, *overrides: str) -> Path:
    """A run directory (with its .hydra/config.yaml) of ``graph`` (conf/model/<file>.yaml) trained in-process."""
    (root / "conf" / "model").mkdir(parents=True)
    (root / "conf" / "model" / "my_graph.yaml").write_text(graph)
    return saved_run(root / "run", ["model=my_graph", *overrides, *QUICK], config_dirs=[str(root / "conf")])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The run directory of the graph trained on a generated .npz, and that file."""
    root = tmp_path_factory.mktemp("arrays")
    path = root / "data.npz"
    np.savez(path, **two_inputs_three_targets(800))
    return train_graph(root, GRAPH, "data=arrays", f"data.path={path}"), path


def test_two_inputs_three_targets_beat_the_trivial_baselines(trained: tuple[Path, Path]) -> None:
    run_dir, path = trained
    found = json.loads((run_dir / "results.json").read_text())
    assert found["status"] == "completed"
    data = load_dataset(ArraysConfig(path=str(path)), found["seed"])
    y = data.y_test
    majority = {name: np.bincount(y[name].astype(int).ravel()).max() / len(y[name]) for name in ("kind", "flag")}
    mean_mae = float(np.abs(y["amount"] - data.y_train["amount"].mean()).mean())
    assert found["test_kind_accuracy"] > majority["kind"] + 0.2, (found["test_kind_accuracy"], majority)
    assert found["test_flag_accuracy"] > majority["flag"] + 0.2, (found["test_flag_accuracy"], majority)
    assert found["test_amount_mae"] < 0.5 * mean_mae, (found["test_amount_mae"], mean_mae)


def test_evaluate_scores_each_output_as_training_did(trained: tuple[Path, Path]) -> None:
    run_dir, _ = trained
    code, output = invoke("evaluate", run_dir)
    assert code == 0, output
    (eval_dir,) = (run_dir / "eval").iterdir()
    metrics = json.loads((eval_dir / "metrics.json").read_text())
    saved = json.loads((run_dir / "results.json").read_text())
    for key in ("test_loss", "test_kind_accuracy", "test_flag_accuracy", "test_amount_mae"):
        assert metrics[key] == pytest.approx(saved[key], rel=1e-4, abs=1e-5), key
    assert metrics["scores"]["kind_accuracy"] == pytest.approx(saved["test_kind_accuracy"], abs=1e-6)
    assert {"kind_macro_f1", "flag_roc_auc", "amount_r2"} <= metrics["scores"].keys()
    assert metrics["examples"] == 160 and metrics["task"] == "multioutput"
    assert (eval_dir / "kind" / "confusion_matrix.png").stat().st_size > 0
    assert (eval_dir / "flag" / "roc_curve.png").exists() and (eval_dir / "amount" / "residuals.png").exists()


def test_predict_from_npz_and_csv_writes_a_column_per_output(trained: tuple[Path, Path], tmp_path: Path) -> None:
    run_dir, _ = trained
    arrays = two_inputs_three_targets(5, seed=7)
    np.savez(tmp_path / "new.npz", x_a=arrays["x_a"], x_b=arrays["x_b"])
    with open(tmp_path / "new.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["b_0", "b_1", "b_2", "a_0", "a_1", "a_2", "a_3", "ignored"])
        writer.writerows([[*b, *a, "text"] for a, b in zip(arrays["x_a"], arrays["x_b"], strict=True)])
    code, output = invoke("predict", run_dir, tmp_path / "new.npz", tmp_path / "new.csv", "--out", tmp_path / "p.csv")
    assert code == 0, output
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert list(rows[0]) == ["input", "kind", "flag", "amount"]
    assert [r["input"] for r in rows[:2]] == [f"{tmp_path / 'new.npz'}[0]", f"{tmp_path / 'new.npz'}[1]"]
    assert rows[5]["input"] == f"{tmp_path / 'new.csv'}:2"
    for npz_row, csv_row in zip(rows[:5], rows[5:], strict=True):  # the same examples, two ways
        assert (npz_row["kind"], npz_row["flag"]) == (csv_row["kind"], csv_row["flag"])
        assert float(npz_row["amount"]) == pytest.approx(float(csv_row["amount"]), abs=1e-5)
    assert {r["kind"] for r in rows} <= {"0", "1", "2"} and {r["flag"] for r in rows} <= {"0", "1"}
    hits = sum(int(r["kind"]) == k for r, k in zip(rows[:5], arrays["y_kind"], strict=True))
    assert hits >= 3, (rows, arrays["y_kind"])

    np.savez(tmp_path / "bad.npz", x_a=arrays["x_a"], x_c=arrays["x_b"])
    code, output = invoke("predict", run_dir, tmp_path / "bad.npz")
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert "no array 'x_b' for the input 'b'" in output and "its arrays: x_a, x_c" in output


@pytest.mark.parametrize("fmt", ["savedmodel", "tflite", "onnx"])
def test_export_has_a_dict_signature(trained: tuple[Path, Path], tmp_path: Path, fmt: str) -> None:
    if fmt == "onnx":
        pytest.importorskip("tf2onnx")
        pytest.importorskip("onnxruntime")
    run_dir, _ = trained
    out = tmp_path / ("model" if fmt == "savedmodel" else "model.onnx")
    code, output = invoke("export", run_dir, f"format={fmt}", f"out={out}")
    assert code == 0, output
    assert float(re.search(r"max abs difference from the checkpoint (\S+)", output).group(1)) < 1e-5
    if fmt == "savedmodel":  # reloaded independently: named arrays in, named arrays out
        import keras
        import tensorflow as tf

        x = {k[2:]: v for k, v in two_inputs_three_targets(6, seed=3).items() if k.startswith("x_")}
        loaded = tf.saved_model.load(str(out))  # kept referenced: it owns the variables ``serve`` reads
        served = loaded.serve({k: tf.constant(v) for k, v in x.items()})
        expected = keras.saving.load_model(run_dir / "checkpoints" / "best.keras").predict(x, verbose=0)
        assert sorted(served) == ["amount", "flag", "kind"]
        assert max(np.abs(served[k].numpy() - expected[k]).max() for k in expected) < 1e-5


def test_an_ensemble_of_named_models_is_one_line(trained: tuple[Path, Path]) -> None:
    run_dir, _ = trained
    code, output = invoke("evaluate", run_dir, run_dir)
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert "an ensemble averages one output per model, these have named outputs" in output


def test_a_pickled_array_stops_training_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "p.npz", x=np.zeros((4, 2)), y=np.array([[1], "a", None, 2.0], dtype=object))
    code, output = invoke("train", "data=arrays", f"data.path={tmp_path / 'p.npz'}")
    assert code == 2, output
    assert output.strip().splitlines() == [
        f"error: {tmp_path / 'p.npz'}: array 'y' is pickled (an object array); only number and text arrays are "
        "read (allow_pickle=False): save it with a plain dtype"
    ]
    assert not (tmp_path / "outputs").exists() or not list((tmp_path / "outputs").rglob("metrics.csv"))


# ----------------------------------------------------------------------------- the file and its config
def test_pre_split_arrays_text_classes_and_given_tasks(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(
        path,
        x=rng.random((40, 3)),
        y=np.array(["cat", "dog", "emu", "dog"] * 10),
        x_test=rng.random((12, 3)),
        y_test=np.array(["emu", "cat", "dog"] * 4),
    )
    data = load_dataset(ArraysConfig(path=str(path), validation_split=0.25), seed=0)
    assert data.spec.task == "multiclass" and data.spec.class_names == ("cat", "dog", "emu")
    assert (data.size("train"), data.size("val"), data.size("test")) == (30, 10, 12)
    assert data.y_test[:3].tolist() == [2, 0, 1] and data.decisions == [
        "target 'y' (array 'y'): multiclass over 3 classes from its values (data.tasks.y sets it)"
    ]
    np.savez(path, x=rng.random((40, 2)), y=rng.integers(0, 2, 40), z=rng.integers(0, 5, 40))
    assert data_spec(ArraysConfig(path=str(path))).task == "binary"
    spec = data_spec(ArraysConfig(path=str(path), targets={"y": "y", "z": "z"}, tasks={"y": "regression"}))
    assert (spec.outputs["y"].task, spec.outputs["z"].task, spec.outputs["z"].num_classes) == (
        "regression",
        "multiclass",
        5,
    )
    assert spec.inputs["x"].shape == (2,)


@pytest.mark.parametrize(
    ("arrays", "overrides", "message"),
    [
        (
            {"x": np.array([{"a": 1}, None], dtype=object), "y": np.zeros(2)},
            {},
            "array 'x' is pickled (an object array); only number and text arrays are read (allow_pickle=False)",
        ),
        (
            {"x_a": np.zeros((4, 2)), "y": np.zeros(4)},
            {"inputs": {"a": "x_b"}},
            "data.inputs.a=x_b: no array 'x_b' in {path} (did you mean x_a?); its arrays: x_a, y",
        ),
        (
            {"x": np.zeros((4, 2)), "y": np.zeros(3)},
            {},
            "data.path={path}: arrays of different numbers of examples (x: 4, y: 3)",
        ),
        (
            {"x": np.zeros((4, 2)), "y": np.zeros(4), "x_test": np.zeros((2, 2))},
            {},
            "data.path={path}: x_test is given but not y_test",
        ),
        (
            {"x": np.zeros((4, 2)), "y": np.zeros(4)},
            {"tasks": {"yy": "binary"}},
            "data.tasks.yy: no such target (did you mean y?); targets: y",
        ),
        (
            {"x": np.zeros((4, 2)), "y": np.array([0.5, 1, 2, 3])},
            {"tasks": {"y": "multiclass"}},
            "data.tasks.y=multiclass: the target holds fractions",
        ),
    ],
)
def test_bad_files_and_names_are_one_line(tmp_path: Path, arrays: dict, overrides: dict, message: str) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    with pytest.raises(ConfigError) as err:
        load_dataset(ArraysConfig(path=str(path), **overrides), seed=0)
    assert message.format(path=path) in str(err.value) and "\n" not in str(err.value)


def test_a_graph_not_naming_the_files_inputs_is_one_line_naming_both(tmp_path: Path) -> None:
    from dltool.models import build_model
    from dltool.models.graph import GraphConfig, GraphInputConfig, GraphOutputConfig

    path = tmp_path / "d.npz"
    np.savez(path, **two_inputs_three_targets(20))
    spec = data_spec(ArraysConfig(path=str(path)))
    outputs = {name: GraphOutputConfig() for name in ("kind", "flag", "amount")}
    nodes = {"kind": {"layer": "Dense", "inputs": "a", "args": {"units": 3}}, "flag": {"layer": "Dense"}}
    nodes["amount"] = {"layer": "Dense", "inputs": "a", "args": {"units": 1}}
    cfg = GraphConfig(inputs={"a": GraphInputConfig()}, nodes=nodes, outputs=outputs)
    with pytest.raises(ConfigError) as err:
        build_model(cfg, spec, None)
    assert str(err.value) == (
        "model.inputs: the data's input 'b' is not declared in the graph; the data's inputs: a, b; the graph's: a"
    )


def test_one_input_and_one_target_train_an_mlp(tmp_path: Path) -> None:
    from tests.conftest import train_in_process

    rng = np.random.default_rng(1)
    x = rng.random((300, 5)).astype("float32")
    path = tmp_path / "one.npz"
    np.savez(path, x=x, y=(x[:, 0] + x[:, 1] > 1.0).astype(np.int8))
    (tmp_path / "run").mkdir()
    found = train_in_process(
        tmp_path / "run", "data=arrays", f"data.path={path}", "model=mlp", "trainer.epochs=20", *QUICK[2:]
    )
    assert found["task"] == "binary"
    assert found["test_accuracy"] > 0.75, found["test_accuracy"]


# ----------------------------------------------------------------------------- a table's columns, named
TABLE_GRAPH = """\
name: graph
inputs: {numbers: {}, labels: {}}
nodes:
  both: {merge: concatenate, inputs: [numbers, labels]}
  hidden: {layer: Dense, args: {units: 16, activation: relu}}
  priority: {layer: Dense, inputs: hidden, args: {units: 3, activation: softmax}}
  department: {layer: Dense, inputs: hidden, args: {units: 1, activation: sigmoid}}
outputs: {priority: {}, department: {}}
"""
TABLE_MAPPING = [
    "+data.inputs={numbers: [size, urgency], labels: [team, channel]}",
    "+data.targets={priority: priority, department: department}",
]


def test_a_tables_columns_feed_a_graphs_named_inputs_and_outputs(tmp_path: Path) -> None:
    path = table_file(tmp_path)
    run_dir = train_graph(tmp_path, TABLE_GRAPH, "data=csv", f"data.path={path}", *TABLE_MAPPING)
    found = json.loads((run_dir / "results.json").read_text())
    spec = found["data"]
    assert found["status"] == "completed" and found["task"] == "multioutput", spec
    # three classes about equally frequent, two classes half and half: majorities of about 0.34 and 0.5
    assert found["test_priority_accuracy"] > 0.7 and found["test_department_accuracy"] > 0.7, found

    new = table_file(tmp_path, 40, seed=5, name="new.csv")
    rows = list(csv.DictReader(new.open()))
    code, output = invoke("predict", run_dir, new, "--out", tmp_path / "p.csv")
    assert code == 0, output
    written = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert list(written[0]) == ["input", "priority", "department"] and len(written) == 40
    hits = sum(w["priority"] == r["priority"] for w, r in zip(written, rows, strict=True))
    assert hits >= 28, hits
    code, output = invoke("evaluate", run_dir)
    assert code == 0 and "test_department_accuracy" in output, output


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"inputs": {"a": ["size"]}}, "data.inputs is set, data.targets is not: a table of named inputs needs both"),
        (
            {"inputs": {"a": ["size", "urgncy"]}, "targets": {"p": "priority"}},
            "data.inputs.a=urgncy: no column 'urgncy' in",
        ),
        (
            {"inputs": {"a": ["size", "priority"]}, "targets": {"p": "priority"}},
            "data.inputs.a: 'priority' is a target column (data.targets)",
        ),
    ],
)
def test_bad_table_mappings_are_one_line(tmp_path: Path, overrides: dict, message: str) -> None:
    from dltool.data.tables import CSVConfig

    path = table_file(tmp_path, 20)
    with pytest.raises(ConfigError) as err:
        data_spec(CSVConfig(path=str(path), **overrides))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_missing_feature_of_any_input_drops_its_row_under_missing_drop(tmp_path: Path) -> None:
    from dltool.data.tables import CSVConfig

    path = table_file(tmp_path, 30)
    lines = path.read_text().splitlines()
    cells = lines[3].split(",")
    cells[3] = ""  # the channel of the third ticket, a column of the second input
    path.write_text("\n".join([*lines[:3], ",".join(cells), *lines[4:]]) + "\n")
    mapping = {"inputs": {"numbers": ["size"], "labels": ["team", "channel"]}, "targets": {"p": "priority"}}
    sizes = {}
    for missing in ("drop", "fill"):
        data = load_dataset(CSVConfig(path=str(path), missing=missing, **mapping), seed=0)
        sizes[missing] = sum(data.size(split) for split in ("train", "val", "test"))
    assert sizes == {"drop": 29, "fill": 30}
    assert data.x_train["labels"].shape[1] == 3 + 3  # team a, b, c; channel email, phone, <missing>
    assert "input 'labels': column 'channel': one-hot encoded over 3 categories" in " ".join(data.decisions)


def test_loading_twice_gives_the_same_splits(tmp_path: Path) -> None:
    """The file's arrays are read once (cached): splitting must leave them as they are."""
    path = tmp_path / "d.npz"
    np.savez(path, **two_inputs_three_targets(60))
    first, second = (load_dataset(ArraysConfig(path=str(path)), seed=0) for _ in range(2))
    for split in ("x_train", "x_test", "y_train", "y_val"):
        for name, values in getattr(first, split).items():
            np.testing.assert_array_equal(values, getattr(second, split)[name])
