"""`dltool train` on the seeds' four functional-API presets, and graph errors at the command line (in this process)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import dltool_in_process, results, run_dirs

pytestmark = pytest.mark.e2e

QUICK = ["trainer.epochs=3", "callbacks.early_stopping.enabled=false", "callbacks.tensorboard.enabled=false"]
PRESETS = {
    "qa_two_inputs": (
        [
            "data.num_answers=20",
            "data.text_vocab_size=200",
            "data.question_vocab_size=50",
            "data.text_length=30",
            "data.question_length=10",
            "data.num_samples=400",
            "trainer.batch_size=32",
        ],
        ["answer"],
    ),
    "posts_three_outputs": (["data.vocab_size=1000", "data.num_samples=300"], ["age", "income", "gender"]),
    "siamese_lstm": (["data.num_samples=400", "data.dim=16", "data.length=10"], ["similar"]),
    "dual_camera": (["data.image_size=32", "data.num_samples=150"], ["object"]),
}


@pytest.mark.parametrize("preset", list(PRESETS))
def test_seed_graph_presets_train_with_every_output_loss_falling(preset: str, workdir: Path) -> None:
    overrides, outputs = PRESETS[preset]
    done = dltool_in_process("train", f"experiment={preset}", *overrides, *QUICK, cwd=workdir)
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = run_dirs(workdir)
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert len(rows) == 3
    for output in outputs:
        column = f"{output}_loss" if len(outputs) > 1 else "loss"  # Keras prefixes only when there are several
        assert float(rows[-1][column]) < float(rows[0][column]), (output, [r[column] for r in rows])
        assert f"val_{column}" in rows[0]
    assert (run / "model.png").stat().st_size > 0 and (run / "history.png").exists()
    summary = (run / "model_summary.txt").read_text()
    assert all(name in summary for name in outputs)
    result = results(run)
    assert result["status"] == "completed" and result["epochs_run"] == 3
    if preset == "posts_three_outputs":
        assert {"test_age_mae", "test_income_accuracy", "test_gender_accuracy", "test_loss"} <= result.keys()
        from dltool.commands.evaluate import evaluate
        from dltool.commands.export import export_run

        found = evaluate([str(run)])  # each head scored as training did, and by its predictions
        for key in ("test_loss", "test_age_mae", "test_income_accuracy", "test_gender_accuracy"):
            assert found[key] == pytest.approx(result[key], rel=1e-4, abs=1e-5), key
        assert {"age_r2", "income_macro_f1", "gender_accuracy"} <= found["scores"].keys()
        assert export_run(str(run), ["format=keras"])["max_abs_diff"] < 1e-5


TYPO_GRAPH = """\
# the default graph with a typo in an input name
name: graph
inputs: {image: {}}
nodes:
  stem: {layer: Conv2D, inputs: image, args: {filters: 4, kernel_size: 3}}
  pool: {layer: GlobalAveragePooling2D, inputs: stme}
  output: {layer: Dense, args: {units: 10, activation: softmax}}
outputs:
  output: {}
"""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model=typo_graph"], "error: model.nodes.pool.inputs: unknown input 'stme' (did you mean stem?)"),
        (
            ["experiment=siamese_lstm", "data.num_samples=20", "model.nodes.merged.inputs=[left,right_output]"],
            "error: model.nodes.merged: cannot concatenate shapes (None, None, 128), (None, 32)",
        ),
    ],
)
def test_graph_errors_exit_2_naming_the_node(args: list[str], message: str, workdir: Path) -> None:
    (workdir / "conf" / "model").mkdir(parents=True)
    (workdir / "conf" / "model" / "typo_graph.yaml").write_text(TYPO_GRAPH)
    done = dltool_in_process("train", "--config-dir", str(workdir / "conf"), *args, cwd=workdir)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not list(workdir.rglob("metrics.csv"))  # refused before any training
