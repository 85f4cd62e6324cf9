"""Options that name their class with ``_target_``: an optimizer or a sweep sampler added by one YAML file,
built by Hydra's instantiate, its arguments checked against the class before anything runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from dltool.cli import app
from dltool.config import compose, validate
from dltool.config.optimizer import TargetOptimizerConfig
from dltool.errors import ConfigError
from dltool.sweep import run_sweep
from dltool.sweep.plan import make_plan
from dltool.sweep.runner import SweepRunner
from tests.conftest import checked, dltool_in_process
from tests.test_sweep import PROCESS, stand_in

LION = "# Lion: sign of an interpolated momentum (keras.optimizers.Lion).\n_target_: keras.optimizers.Lion\n"


def config_dir(root: Path, body: str) -> Path:
    """A config directory holding nothing but ``optimizer/lion.yaml``."""
    (root / "conf" / "optimizer").mkdir(parents=True)
    (root / "conf" / "optimizer" / "lion.yaml").write_text(LION + body)
    return root / "conf"


@pytest.mark.e2e
def test_an_optimizer_of_a_config_dir_trains(tmp_path: Path) -> None:
    conf = config_dir(tmp_path, "learning_rate: 0.0003\n")
    done = dltool_in_process("train", "optimizer=lion", "--config-dir", str(conf), "trainer.epochs=1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "outputs").glob("*/*")
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "completed" and results["epochs_run"] == 1
    saved = (run_dir / ".hydra" / "config.yaml").read_text()
    assert "_target_: keras.optimizers.Lion" in saved and "learning_rate: 0.0003" in saved


def test_adding_an_optimizer_is_one_yaml_file(tmp_path: Path) -> None:
    from dltool.training.optimizers import build_optimizer, epoch_learning_rate

    conf = config_dir(tmp_path, "learning_rate: 0.0003\nbeta_1: 0.95\n")
    listed = CliRunner().invoke(app, ["list", "optimizer", "--config-dir", str(conf)])
    assert listed.exit_code == 0 and "Lion: sign of an interpolated momentum" in listed.output
    run = validate(compose(["optimizer=lion", "+optimizer.schedule.name=cosine"], config_dirs=[str(conf)]))
    assert isinstance(run.optimizer, TargetOptimizerConfig) and run.optimizer.name == "lion"
    optimizer = build_optimizer(run.optimizer)
    assert type(optimizer).__name__ == "Lion" and optimizer.beta_1 == 0.95
    assert float(optimizer.learning_rate) == pytest.approx(3e-4)
    assert epoch_learning_rate(run.optimizer, 4, total_epochs=5) == pytest.approx(0.0)  # the schedule applies


def test_one_cycle_is_built_into_a_target_optimizer(tmp_path: Path) -> None:
    import keras

    from dltool.training.optimizers import build_optimizer

    conf = config_dir(tmp_path, "learning_rate: 0.01\nschedule:\n  name: one_cycle\n  warmup_epochs: 1\n")
    optimizer = build_optimizer(validate(compose(["optimizer=lion"], config_dirs=[str(conf)])).optimizer, 10, 3)
    assert isinstance(optimizer._learning_rate, keras.optimizers.schedules.CosineDecay)
    assert float(optimizer._learning_rate(10)) == pytest.approx(0.01)


def test_a_wrong_argument_is_one_line_with_the_class_arguments(tmp_path: Path) -> None:
    conf = config_dir(tmp_path, "beta1: 0.95\n")
    done = dltool_in_process("train", "optimizer=lion", "--config-dir", str(conf), "trainer.epochs=1", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert "unknown key 'optimizer.beta1' (did you mean beta_1?): keras.optimizers.Lion takes learning_rate" in line
    assert "Traceback" not in done.stderr and not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("os.getcwd", r"optimizer._target_=os.getcwd: names a builtin_function_or_method, not a class"),
        ("keras.optimizers.Lyon", r"optimizer._target_=keras.optimizers.Lyon: cannot be imported"),
    ],
)
def test_a_target_that_is_no_optimizer_class_is_one_line(target: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "optimizer").mkdir()
    (tmp_path / "optimizer" / "mine.yaml").write_text(f"# mine\n_target_: {target}\n")
    with pytest.raises(ConfigError, match=message):
        checked(compose(["optimizer=mine"], config_dirs=[str(tmp_path)]))


def test_allowed_targets_refuse_an_optimizer_class(tmp_path: Path) -> None:
    conf = config_dir(tmp_path, "")
    with pytest.raises(ConfigError, match=r"optimizer._target_=keras.optimizers.Lion: not allowed by allowed_targets"):
        validate(compose(["optimizer=lion", "allowed_targets=[mylab.]"], config_dirs=[str(conf)]))
    assert validate(compose(["allowed_targets=[mylab.]"])).optimizer.name == "adam"  # built-ins need no prefix


def test_a_qmc_sampler_node_runs_a_sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(SweepRunner, "trial_command", stand_in(lambda p: p["optimizer.learning_rate"] * 10))
    argv = ["sweep=quick", "sweep.n_trials=4", "sweep.pruner=none", PROCESS]
    argv += ["sweep.sampler._target_=optuna.samplers.QMCSampler", "sweep.sampler.scramble=true"]
    assert run_sweep(argv) == 0
    (sweep_dir,) = (tmp_path / "outputs" / "sweeps").glob("*/*")
    rows = list(csv.DictReader((sweep_dir / "trials.csv").open()))
    assert [r["state"] for r in rows] == ["complete"] * 4
    assert "QMCSampler sampler" in capsys.readouterr().out
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{sweep_dir / 'study.db'}")
    drawn = [v for k, v in study._storage.get_study_system_attrs(study._study_id).items() if k.startswith("qmc:")]
    assert drawn and drawn[0] >= 1  # the sampler numbered the points it drew from its Sobol sequence


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep.sampler=tpr"], r"sweep.sampler=tpr: must be one of grid, random, tpe, cmaes, nsga2 \(did you"),
        (
            ["sweep.pruner=hyperbnd"],
            r"sweep.pruner=hyperbnd: must be one of none, median, hyperband, successive_halving \(did you mean hyperb",
        ),
        (
            ["sweep.sampler._target_=optuna.samplers.QMCSampler", "sweep.sampler.scrambel=true"],
            r"unknown key 'sweep.sampler.scrambel' \(did you mean scramble\?\): optuna.samplers.QMCSampler takes",
        ),
        (["sweep.sampler._target_=optuna.samplers.NoSampler"], r"sweep.sampler._target_=.*cannot be imported"),
        (
            ["sweep.sampler._target_=optuna.samplers.QMCSampler", "allowed_targets=[keras.]"],
            r"sweep.sampler._target_=optuna.samplers.QMCSampler: not allowed by allowed_targets",
        ),
        (
            ["sweep.sampler._target_=optuna.samplers._qmc.np.random.Generator", "allowed_targets=[optuna.]"],
            r"leads to numpy.random._generator.Generator, which is not defined in optuna",
        ),
    ],
)
def test_sampler_errors_name_the_key(argv: list[str], message: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        make_plan(["sweep=quick", *argv])
    assert not (tmp_path / "outputs").exists()
