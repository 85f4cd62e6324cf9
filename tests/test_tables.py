"""Typed tables: regression targets trained standardized, column types, Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

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
