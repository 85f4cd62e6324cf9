"""``dltool train`` composes and validates a run's config once, then runs it as a Hydra job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra._internal.config_loader_impl import ConfigLoaderImpl

import dltool.commands.train as train_module
from dltool.commands.train import train_command


def test_a_run_is_composed_and_validated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads, validations = [], []
    load = ConfigLoaderImpl.load_configuration
    validate = train_module.validate
    monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", lambda *a, **k: loads.append(1) or load(*a, **k))
    monkeypatch.setattr(train_module, "validate", lambda cfg: validations.append(1) or validate(cfg))
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"

    code = train_command(["trainer.epochs=1", "data.max_samples=64", f"hydra.run.dir={run_dir}"])

    assert code == 0
    assert (len(loads), len(validations)) == (1, 1)
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "completed" and results["epochs_run"] == 1
    assert (run_dir / ".hydra" / "overrides.yaml").read_text().count("trainer.epochs=1") == 1
    assert "run directory" in (run_dir / "train.log").read_text()


def test_a_bad_value_found_by_validation_is_an_exit_code_and_no_run_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception, match=r"trainer.epochs=-1: must be >= 0"):
        train_command(["trainer.epochs=-1"])
    assert not (tmp_path / "outputs").exists()
