"""``dltool runs`` as a terminal of 80 or 120 columns shows it, without a terminal (a real subprocess):
every run id whole on one line, the other columns chosen to fit, headers never cut."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_dltool

pytestmark = pytest.mark.e2e
IDS = ["2026-12-02/21-04-05", "2026-12-02/21-04-05_resnet_baseline_long-1", "multirun/2026-12-02/21-10-00/11"]
HEADERS = {"date", "run", "name", "model", "data", "best_val", "test", "epochs", "status", "trainer.seed"}


def fake_runs(root: Path) -> None:
    """Three completed run directories as ``dltool train`` leaves them (config and results.json), one corrupt."""
    for i, run in enumerate(IDS):
        run_dir = root / run
        (run_dir / ".hydra").mkdir(parents=True)
        config = (
            f"name: baseline_experiment_{i}\nmodel:\n  name: resnet\ndata:\n  name: cifar10\ntrainer:\n  seed: {i}\n"
        )
        (run_dir / ".hydra" / "config.yaml").write_text(config)
        results = {"status": "completed", "monitor": "val_accuracy", "best_val_accuracy": 0.81234 + i / 100}
        results |= {"test_accuracy": 0.8, "epochs_run": 30, "started_at": "2026-12-02T21:04:05"}
        (run_dir / "results.json").write_text(json.dumps(results))
    (root / "2026-12-03" / "08-00-00" / ".hydra").mkdir(parents=True)
    (root / "2026-12-03" / "08-00-00" / "results.json").write_text("{truncated")


def header_cells(output: str) -> list[str]:
    header = next(line for line in output.splitlines() if line.startswith("┃"))
    return [cell.strip() for cell in header.strip("┃").split("┃")]


@pytest.mark.parametrize("width", [80, 120])
def test_whole_run_ids_and_columns_that_fit(tmp_path: Path, width: int) -> None:
    fake_runs(tmp_path / "outputs")
    done = run_dltool("runs", "--root", "outputs", cwd=tmp_path, env={"COLUMNS": str(width)})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for run_id in [*IDS, "2026-12-03/08-00-00"]:
        assert any(re.search(rf"│ {re.escape(run_id)} +│", line) for line in lines), done.stdout
    assert max(map(len, lines)) <= width, done.stdout
    shown = header_cells(done.stdout)
    assert {"run", "best_val", "test", "status"} <= set(shown) <= HEADERS, done.stdout
    hidden = HEADERS - set(shown) - {"trainer.seed"}
    assert f"hidden at {width} columns: " in done.stdout and all(h in lines[-1] for h in hidden), done.stdout
    if width == 80:  # the columns asked for stay, the least important others go first
        done = run_dltool(
            "runs", "--root", "outputs", "-c", "name", "-c", "trainer.seed", cwd=tmp_path, env={"COLUMNS": "80"}
        )
        assert done.returncode == 0 and {"name", "trainer.seed"} <= set(header_cells(done.stdout)), done.stdout
        assert any(re.search(rf"│ {re.escape(IDS[1])} +│ baseline_", line) for line in done.stdout.splitlines())
