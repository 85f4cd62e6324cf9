"""After training: evaluate, ensembles, predict, export and runs, on tiny digits and regression runs.

One ``dltool train -m`` (a subprocess, as a user would run it) trains four runs: digits and the
``function`` regression set, each with trainer seeds 1 and 2 on the same splits (``data.seed=0``).
The commands under test then run in-process through Typer's runner.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dltool.cli import app
from dltool.console import console
from tests.conftest import dltool_in_process, results, run_dirs, run_dltool

# xdist_group: the module fixture trains once, on one worker
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("test_evaluation")]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def multirun(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], str]:
    """The four run directories by data set and seed, and what the multirun printed."""
    root = tmp_path_factory.mktemp("runs")
    result = dltool_in_process(
        "train",
        "-m",
        "data=digits,function",
        "trainer.seed=1,2",
        "data.seed=0",
        "trainer.epochs=3",
        "data.max_samples=300",
        "callbacks.tensorboard.enabled=false",
        cwd=root,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = {}
    for run_dir in run_dirs(root):
        res = results(run_dir)
        found[f"{res['data']['name']}{res['seed']}"] = run_dir
    assert sorted(found) == ["digits1", "digits2", "function1", "function2"]
    return found, result.stdout


@pytest.fixture(scope="module")
def runs(multirun: tuple[dict[str, Path], str]) -> dict[str, Path]:
    return multirun[0]


def invoke(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def eval_dirs(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "eval").iterdir()) if (run_dir / "eval").is_dir() else []


def hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


# ------------------------------------------------------------------------------- evaluate
def test_evaluate_reproduces_the_test_metrics_and_touches_nothing(runs: dict[str, Path]) -> None:
    run_dir = runs["digits1"]
    before = hashes(run_dir)
    code, output = invoke("evaluate", run_dir)
    assert code == 0, output
    after = hashes(run_dir)
    assert {k: v for k, v in after.items() if not k.startswith("eval/")} == before
    (out_dir,) = eval_dirs(run_dir)
    found = json.loads((out_dir / "metrics.json").read_text())
    saved = results(run_dir)
    assert found["test_accuracy"] == pytest.approx(saved["test_accuracy"], abs=1e-6)
    assert found["test_loss"] == pytest.approx(saved["test_loss"], rel=1e-5)
    assert found["scores"]["accuracy"] == pytest.approx(saved["test_accuracy"], abs=1e-6)
    assert found["examples"] == saved["data"]["test"] == 300
    for name in ("confusion_matrix.png", "confusion_matrix_normalized.png", "worst_examples.png"):
        assert (out_dir / name).read_bytes()[:8] == PNG, name
    assert (run_dir / "confusion_matrix_normalized.png").read_bytes()[:8] == PNG  # the training run's own
    report = (out_dir / "classification_report.txt").read_text()
    assert "test split, 300 examples" in report and "macro avg" in report


def test_evaluate_on_the_validation_split_matches_the_best_epoch(runs: dict[str, Path]) -> None:
    run_dir = runs["digits2"]
    code, output = invoke("evaluate", run_dir, "data.split=val", "worst=0")
    assert code == 0, output
    found = json.loads((eval_dirs(run_dir)[-1] / "metrics.json").read_text())
    saved = results(run_dir)
    assert found["split"] == "val" and found["examples"] == saved["data"]["validation"]
    assert found["val_loss"] == pytest.approx(saved["best_val_loss"], rel=1e-5)
    assert found["val_accuracy"] == pytest.approx(saved["best_val_accuracy"], abs=1e-6)
    assert "worst_examples.png" not in found["files"]


def test_evaluate_a_regression_run_draws_residuals(runs: dict[str, Path]) -> None:
    run_dir = runs["function1"]
    code, output = invoke("evaluate", run_dir)
    assert code == 0, output
    out_dir = eval_dirs(run_dir)[-1]
    found = json.loads((out_dir / "metrics.json").read_text())
    assert found["test_mae"] == pytest.approx(results(run_dir)["test_mae"], rel=1e-5)
    assert found["scores"]["mae"] == pytest.approx(found["test_mae"], rel=1e-5)
    assert (out_dir / "residuals.png").read_bytes()[:8] == PNG
    assert not (out_dir / "confusion_matrix.png").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["nonexistent-run"], "nonexistent-run: no such run directory or .keras file"),
        (["{digits1}", "{function1}"], "ensemble members differ in their task: "),
        (["{digits1}", "split=tst"], "evaluate.split=tst: must be one of test, val, train (did you mean test?)"),
        (["{digits1}", "data.max_sampels=3"], "unknown key 'data.max_sampels' (did you mean max_samples?)"),
        (["{digits1}", "{digits2}", "ensemble.weights=[1]"], "ensemble.weights=[1]: must be equal, auto, or a list"),
        (["{digits1}", "data=function"], "examples of shape (1,), but"),
    ],
)
def test_bad_evaluations_exit_2_with_one_line(runs: dict[str, Path], args: list[str], expected: str) -> None:
    code, output = invoke("evaluate", *(a.format(**runs) for a in args))
    assert code == 2, output
    assert expected in output
    assert len(output.strip().splitlines()) == 1 and "Traceback" not in output


def test_a_damaged_run_is_named_in_one_line(runs: dict[str, Path], tmp_path: Path) -> None:
    run_dir = Path(shutil.copytree(runs["digits1"], tmp_path / "run"))
    best = run_dir / "checkpoints" / "best.keras"
    best.write_bytes(best.read_bytes()[:3000])
    code, output = invoke("evaluate", run_dir)
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert f"{best}: corrupt" in output and f"use {run_dir / 'checkpoints' / 'last.keras'} instead" in output
    (run_dir / ".hydra" / "config.yaml").write_text("data: [unclosed\n")
    code, output = invoke("evaluate", run_dir / "checkpoints" / "last.keras")
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert "config.yaml: not a readable config" in output


# ------------------------------------------------------------------------------ ensembles
def test_auto_weighted_ensemble_reports_members_and_is_no_worse(runs: dict[str, Path]) -> None:
    code, output = invoke("evaluate", runs["digits1"], runs["digits2"], "ensemble.weights=auto")
    assert code == 0, output
    assert "ensemble (auto)" in output
    out_dir = eval_dirs(runs["digits1"])[-1]
    assert out_dir.name.endswith("_ensemble")
    found = json.loads((out_dir / "metrics.json").read_text())
    members = [m["scores"]["accuracy"] for m in found["members"]]
    assert members[0] == pytest.approx(results(runs["digits1"])["test_accuracy"], abs=1e-6)
    assert members[1] == pytest.approx(results(runs["digits2"])["test_accuracy"], abs=1e-6)
    assert found["ensemble"]["scores"]["accuracy"] >= min(members)
    assert sum(found["ensemble"]["weights"]) == pytest.approx(1.0)
    assert (out_dir / "confusion_matrix.png").read_bytes()[:8] == PNG


def test_listed_weights_pick_a_member(runs: dict[str, Path]) -> None:
    code, output = invoke("evaluate", runs["digits1"], runs["digits2"], "ensemble.weights=[0,2]", "worst=0")
    assert code == 0, output
    found = json.loads((eval_dirs(runs["digits1"])[-1] / "metrics.json").read_text())
    assert found["ensemble"]["weights"] == [0.0, 1.0]
    assert found["ensemble"]["scores"] == pytest.approx(found["members"][1]["scores"])


def test_fitted_weights_prefer_the_better_member() -> None:
    from dltool.evaluation.ensemble import fit_weights
    from dltool.evaluation.metrics import fit_loss

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    good = np.full((200, 3), 0.1)
    good[np.arange(200), y] = 0.8
    noise = rng.dirichlet(np.ones(3), 200)
    weights = fit_weights(lambda o: fit_loss("multiclass", y, o), [noise, good])
    assert weights[1] > 0.9 and weights.sum() == pytest.approx(1.0)


# -------------------------------------------------------------------------------- predict
def test_predict_writes_one_row_per_input(runs: dict[str, Path], tmp_path: Path) -> None:
    import keras
    from PIL import Image
    from sklearn.datasets import load_digits

    images = load_digits().images / 16.0
    np.save(tmp_path / "batch.npy", images[:5, :, :, None])
    np.savetxt(tmp_path / "rows.csv", images[5:8].reshape(3, -1), delimiter=",", header="h", comments="")
    (tmp_path / "pictures").mkdir()
    for i in range(2):
        Image.fromarray((images[8 + i] * 255).astype("uint8")).save(tmp_path / "pictures" / f"{i}.png")
    out = tmp_path / "predictions.csv"
    args = ("predict", runs["digits1"], tmp_path / "batch.npy", tmp_path / "rows.csv", tmp_path / "pictures")
    code, output = invoke(*args, "--out", out)
    assert code == 0, output
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10 and list(rows[0])[:3] == ["input", "prediction", "p_0"]
    model = keras.saving.load_model(runs["digits1"] / "checkpoints" / "best.keras")
    expected = model.predict(images[:8, :, :, None], verbose=0)
    assert [r["prediction"] for r in rows[:8]] == [str(i) for i in expected.argmax(-1)]
    assert float(rows[0]["p_3"]) == pytest.approx(float(expected[0, 3]), abs=1e-6)
    assert sum(float(rows[9][f"p_{i}"]) for i in range(10)) == pytest.approx(1.0, abs=1e-5)
    code, output = invoke(*args, "--out", out)
    assert code == 2 and "already exists" in output


def test_predict_writes_a_new_file_in_the_run_by_default(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = runs["digits2"]
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", np.zeros((2, 8, 8, 1), dtype="float32"))
    code, output = invoke("predict", run, tmp_path / "x.npy")
    assert code == 0, output
    second = run_dltool("predict", str(run), str(tmp_path / "x.npy"), cwd=tmp_path)  # a user's next call
    assert second.returncode == 0, second.stderr
    written = sorted((run / "predictions").iterdir())
    assert [p.name for p in written] == [p.name for p in written if re.fullmatch(r"[\d_-]+\.csv", p.name)]
    assert len(written) == 2 and all(len(p.read_text().splitlines()) == 3 for p in written)
    assert written[-1].name in second.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]  # nothing in the working directory
    shutil.copy(run / "checkpoints" / "best.keras", tmp_path / "model.keras")
    code, output = invoke("predict", tmp_path / "model.keras", tmp_path / "x.npy")
    assert code == 0, output
    assert len(list((tmp_path / "predictions").glob("*.csv"))) == 1


def test_unsafe_checkpoints_are_refused_unless_asked(tmp_path: Path) -> None:
    import keras

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t[:, :1] * 2.0)(inputs))
    model.save(tmp_path / "lambda.keras")
    np.save(tmp_path / "x.npy", np.ones((3, 2), dtype="float32"))
    args = ("predict", tmp_path / "lambda.keras", tmp_path / "x.npy", "--out", tmp_path / "p.csv")
    code, output = invoke(*args)
    assert code == 2 and "pass --unsafe only if you trust its source" in output
    code, output = invoke(*args, "--unsafe")
    assert code == 0, output
    assert (tmp_path / "p.csv").read_text().splitlines()[1] == f"{tmp_path / 'x.npy'}[0],2.0"


# --------------------------------------------------------------------------------- export
@pytest.mark.parametrize("fmt", ["savedmodel", "tflite", "onnx"])
def test_export_gives_the_checkpoints_predictions(runs: dict[str, Path], fmt: str) -> None:
    if fmt == "onnx":
        pytest.importorskip("tf2onnx")
        pytest.importorskip("onnxruntime")
    run_dir = runs["digits2"]
    code, output = invoke("export", run_dir, f"format={fmt}")
    assert code == 0, output
    difference = float(re.search(r"max abs difference from the checkpoint (\S+)", output).group(1))
    assert difference < 1e-5
    if fmt == "savedmodel":  # reload independently, on real digits
        import keras
        import tensorflow as tf
        from sklearn.datasets import load_digits

        x = (load_digits().images[:50, :, :, None] / 16.0).astype("float32")
        loaded = tf.saved_model.load(str(run_dir / "export" / "savedmodel"))
        reloaded = loaded.serve(tf.constant(x)).numpy()
        expected = keras.saving.load_model(run_dir / "checkpoints" / "best.keras").predict(x, verbose=0)
        assert np.abs(reloaded - expected).max() < 1e-5
    code, output = invoke("export", run_dir, f"format={fmt}")
    assert code == 2 and "already exists" in output


def test_export_into_a_path_under_a_file_is_one_line(runs: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    code, output = invoke("export", runs["digits1"], "format=keras", f"out={tmp_path}/a_file/x.keras")
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert f"{tmp_path / 'a_file'} is a file" in output and (tmp_path / "a_file").read_text() == ""


# ----------------------------------------------------------------------------------- runs
def test_a_multirun_ends_with_its_runs_best_first(multirun: tuple[dict[str, Path], str]) -> None:
    found, stdout = multirun
    table = stdout[stdout.index("4 runs of the multirun, best first") :]
    header = next(line for line in table.splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "run",
        "data",
        "trainer.seed",
        "best_val",
        "test",
        "epochs",
        "status",
    ], table
    ids = re.findall(r"^│ (outputs/multirun/\S+) +│ (\w+) +│ (\d) +│", table, re.MULTILINE)
    by_id = {run_dir.relative_to(run_dir.parents[4]).as_posix(): run_dir for run_dir in found.values()}
    assert sorted(i for i, _, _ in ids) == sorted(by_id), table  # every job once, its whole id
    ranked = [results(by_id[i]) for i, _, _ in ids]
    assert [(r["data"]["name"], str(r["seed"])) for r in ranked] == [(d, s) for _, d, s in ids]
    assert {r["monitor"] for r in ranked} == {"val_loss"}
    losses = [r["best_val_loss"] for r in ranked]
    assert losses == sorted(losses), table  # the monitored metric, best (lowest loss) first


def test_runs_lists_sorts_filters_and_survives_broken_directories(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = runs["digits1"].parents[3]  # outputs/
    (root / "2026-01-01" / "00-00-01" / ".hydra").mkdir(parents=True)
    (root / "2026-01-01" / "00-00-02" / ".hydra").mkdir(parents=True)
    (root / "2026-01-01" / "00-00-02" / "results.json").write_text("{truncated")
    code, output = invoke("runs", "--root", root, "--json")
    assert code == 0, output
    rows = json.loads(output)
    assert sorted(r["status"] for r in rows) == ["completed"] * 4 + ["corrupt", "incomplete"]
    code, output = invoke("runs", "--root", root, "--json", "--where", "data=digits", "--sort", "test", "--desc")
    digits = json.loads(output)
    assert [r["data"] for r in digits] == ["digits", "digits"]
    assert digits[0]["test_accuracy"] >= digits[1]["test_accuracy"]
    code, output = invoke("runs", "--root", root, "--json", "--where", "trainer.seed=2", "--where", "data=function")
    assert [(r["data"], r["test_metric"]) for r in json.loads(output)] == [("function", "mae")]
    code, output = invoke("runs", "--root", root)
    assert code == 0 and "6 runs under" in output and "corrupt" in output
    code, output = invoke("runs", "--root", root, "--where", "modle=mlp")
    assert code == 2 and "did you mean model?" in output
    # the table's full width, no cell cut short; the console read COLUMNS once, when dltool.console was imported
    monkeypatch.setattr(console, "_width", 250)
    code, output = invoke("runs", "--root", root, "--where", "data=function", "-c", "trainer.seed", "-c", "test_mae")
    assert code == 0 and re.search(r"trainer\.seed.*test_mae", output), output
    seeds = [line.split("│")[6].strip() for line in output.splitlines() if "function" in line]
    assert sorted(seeds) == ["1", "2"], output
    code, output = invoke("runs", "--root", root, "--sort", "test_acuracy")
    assert code == 2 and "--sort test_acuracy" in output and "did you mean test_accuracy?" in output
    code, output = invoke("runs", "--root", root, "-c", "trainer.seeds")
    assert code == 2 and "--column trainer.seeds" in output and "did you mean trainer.seed?" in output


def test_binary_reports_draw_roc_and_precision_recall_curves(tmp_path: Path) -> None:
    from dltool.data import DataSpec
    from dltool.evaluation.reports import write_reports

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (60, 1)).astype("float32")
    outputs = np.clip(0.7 * y + 0.3 * rng.random((60, 1)), 0, 1)
    x = rng.random((60, 4, 4, 1), dtype=np.float32)
    spec = DataSpec((4, 4, 1), "binary", 1)
    written = write_reports(tmp_path, spec, x, y, outputs, "val", worst=4)
    assert written == [
        "classification_report.txt",
        "confusion_matrix.png",
        "confusion_matrix_normalized.png",
        "roc_curve.png",
        "precision_recall_curve.png",
        "worst_examples.png",
    ]
    assert all((tmp_path / name).stat().st_size > 0 for name in written)
    assert "val split, 60 examples" in (tmp_path / "classification_report.txt").read_text()
