"""Config tree, schemas and validation: every option composes, every bad input is one clear line."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from dltool.config import HydraArgs, builtin_config_dir, compose, expand_sweeps, validate
from dltool.config.compose import unique_run_dir
from dltool.config.schemas import FIXED_SCHEMAS, SCHEMAS
from dltool.errors import ConfigError
from tests.conftest import checked

CONF = builtin_config_dir()


def options(group: str) -> list[str]:
    """The options of ``group``: its files, and the options registered in code alone (no file)."""
    return sorted({p.stem for p in (CONF / group).glob("*.yaml")} | set(SCHEMAS.get(group, {})))


def test_builtin_config_dir_holds_every_group() -> None:
    assert (CONF / "config.yaml").is_file()
    for group in ("data", "model", "optimizer", "regularization", "callbacks", "trainer", "experiment", "hydra"):
        assert options(group), f"conf/{group}/ has no option"


@pytest.mark.parametrize(
    "group_option",
    [
        f"{g}={o}"
        for g in ("data", "model", "optimizer", "logger", "regularization", "callbacks", "trainer")
        for o in options(g)
    ],
)
def test_every_option_composes_and_validates(group_option: str) -> None:
    run = validate(compose([group_option]))
    group = group_option.split("=")[0]
    node = getattr(run, group)
    if group in SCHEMAS:
        assert type(node) is SCHEMAS[group][node.name]
    else:
        assert type(node) is FIXED_SCHEMAS[group]


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_validates(experiment: str) -> None:
    run = validate(compose([f"experiment={experiment}"]))
    assert run.name == experiment


def test_option_files_have_a_comment_header() -> None:
    for path in CONF.rglob("*.yaml"):
        first = path.read_text().splitlines()[0]
        assert first.startswith("#"), f"{path.relative_to(CONF)} has no comment header"


def test_defaults_are_the_offline_digits_mlp() -> None:
    run = validate(compose([]))
    assert (run.data.name, run.model.name, run.optimizer.name) == ("digits", "mlp", "adam")
    assert run.trainer.epochs == 30 and run.callbacks.monitor == "val_loss"


def test_overrides_reach_the_typed_config() -> None:
    run = validate(
        compose(
            [
                "optimizer=nesterov",
                "optimizer.learning_rate=0.05",
                "trainer.epochs=3",
                "model.hidden_units=[8,4]",
                "callbacks.early_stopping.patience=2",
            ]
        )
    )
    assert run.optimizer.momentum == 0.9 and run.optimizer.nesterov is True
    assert run.optimizer.learning_rate == 0.05
    assert run.model.hidden_units == [8, 4]
    assert run.callbacks.early_stopping.patience == 2


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["model=resnt"], "model=resnt: no such model option (did you mean resnet?)"),
        (["optimizer.learnin_rate=0.1"], "unknown key 'optimizer.learnin_rate' (did you mean learning_rate?)"),
        (["trainer.epochs=-3"], "trainer.epochs=-3: must be >= 0"),
        (["trainer.batch_size=abc"], "trainer.batch_size=abc: expected an integer"),
        (["regularization.dropout=1.0"], "regularization.dropout=1.0: must be < 1.0"),
        (["model.activation=relux"], "model.activation=relux: must be one of"),
        (["trainer.precision=float8"], "trainer.precision=float8: must be one of"),
        (["trainer.devices=tpu"], "trainer.devices=tpu: must be auto, cpu, gpu"),
        (["+trainer.epoch=3"], "unknown key 'trainer.epoch' (did you mean epochs?)"),
        (["+colour=red"], "unknown key 'colour'"),
        (["callbacks.custom=[{_target_: nowhere.Callback}]"], "callbacks.custom[0]._target_=nowhere.Callback: cannot"),
        (["data.validation_split=1.5"], "data.validation_split=1.5: must be < 1.0"),
        (["optimizer.schedule.name=cosin"], "(did you mean cosine?)"),
        (["trainer.epochs=1,2"], "add -m (--multirun)"),
    ],
)
def test_bad_input_is_one_line_naming_the_key(overrides: list[str], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        checked(compose(overrides))
    message = str(err.value)
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (
            ["callbacks.custom=[{_target_: keras.callbacks.LambdaCallback, on_train_begin: {_target_: sentinel.f}}]"],
            "callbacks.custom[0].on_train_begin",
        ),
        (
            ["callbacks.custom=[{_target_: keras.callbacks.LambdaCallback, _args_: [{_target_: sentinel.f}]}]"],
            "callbacks.custom[0]._args_[0]",
        ),
        (["callbacks.lambda_callback.on_train_end={_target_: sentinel.f}"], "callbacks.lambda_callback.on_train_end"),
        (
            [
                "model=graph",
                "+model.shared.mine={_target_: keras.layers.Dense, args: {bias: [{_target_: sentinel.f}]}}",
            ],
            "model.shared.mine.args.bias[0]",
        ),
    ],
    ids=["callback-argument", "args", "hook", "graph-layer-argument"],
)
def test_allowed_targets_checks_every_target_at_any_depth_before_importing_it(
    overrides: list[str], key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sentinel.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\ndef f(*a, **k): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as err:
        validate(compose(["allowed_targets=[keras.]", *overrides]))
    assert str(err.value) == (
        f"{key}._target_=sentinel.f: not allowed by allowed_targets (import paths must start with one of: keras.)"
    )
    assert not (tmp_path / "imported").exists()


def test_user_config_dir_adds_options(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "tiny.yaml").write_text("# a user's own option\nname: mlp\nhidden_units: [3]\n")
    run = validate(compose(["model=tiny"], config_dirs=[str(tmp_path)]))
    assert run.model.hidden_units == [3]
    with pytest.raises(ConfigError, match="no such model option"):
        compose(["model=tiny"])


def test_a_user_file_named_like_a_built_in_file_is_refused_not_ignored(tmp_path: Path) -> None:
    (tmp_path / "optimizer").mkdir()
    (tmp_path / "optimizer" / "adam.yaml").write_text("name: adam\nlearning_rate: 0.5\n")  # Hydra reads conf's
    with pytest.raises(ConfigError) as err:
        compose([], config_dirs=[str(tmp_path)])
    assert str(err.value) == (
        f"--config-dir {tmp_path}: optimizer/adam.yaml has the name of a built-in option, which Hydra composes "
        "instead of it; rename it (e.g. optimizer/my_adam.yaml, chosen with optimizer=my_adam) and start it with "
        "'defaults: [adam, _self_]' to build on the built-in one"
    )
    (tmp_path / "optimizer" / "adam.yaml").rename(tmp_path / "optimizer" / "my_adam.yaml")
    (tmp_path / "optimizer" / "my_adam.yaml").write_text("defaults: [adam, _self_]\nlearning_rate: 0.5\n")
    run = validate(compose(["optimizer=my_adam"], config_dirs=[str(tmp_path)]))
    assert run.optimizer.learning_rate == 0.5 and run.optimizer.name == "adam"
    # an option declared by its schema alone (no file in conf/) takes the user's file, over its defaults
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "mlp.yaml").write_text("name: mlp\nhidden_units: [7]\n")
    assert validate(compose(["optimizer=my_adam"], config_dirs=[str(tmp_path)])).model.hidden_units == [7]


def test_hydra_args_split_flags_from_overrides() -> None:
    args = HydraArgs.parse(["-m", "--config-dir", "/x", "model=cnn", "--cfg", "job", "trainer.epochs=2"])
    assert args.overrides == ["model=cnn", "trainer.epochs=2"]
    assert args.config_dirs == ["/x"] and args.informational
    # Hydra's own parser takes no override after a flag's value: the flags go first
    assert args.argv == ["-m", "--config-dir", "/x", "--cfg", "job", "model=cnn", "trainer.epochs=2"]
    assert HydraArgs.parse(["a=1", "--config-dir=/y", "b=2"]).argv == ["--config-dir=/y", "a=1", "b=2"]


def test_expand_sweeps_checks_every_value_once() -> None:
    combos = expand_sweeps(["model=mlp,cnn", "trainer.epochs=1,2,3", "name=x"])
    assert combos[0] == ["model=mlp", "trainer.epochs=1", "name=x"]
    assert ["model=cnn", "trainer.epochs=1", "name=x"] in combos
    assert ["model=mlp", "trainer.epochs=3", "name=x"] in combos
    assert len(combos) == 1 + 1 + 2


def _make_dir(args: tuple[str, str]) -> str:
    return unique_run_dir(*args)


def test_run_dirs_started_in_the_same_second_are_distinct(tmp_path: Path) -> None:
    base = str(tmp_path / "2026-01-01" / "10-00-00")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        made = pool.map(_make_dir, [(base, "x")] * 4)
    assert len(set(made)) == 4 and all(Path(d).is_dir() for d in made)
    assert sorted(made)[0] == base + "_x"


def test_the_run_dir_is_resolved_once_per_process(tmp_path: Path) -> None:
    base = str(tmp_path / "a")
    assert unique_run_dir(base) == unique_run_dir(base) == base


def test_validation_imports_nothing_a_config_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a config (a received run's, for evaluate) runs none of its code; a run about to start imports it."""
    (tmp_path / "sentinel.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\nclass Hook: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = compose(["callbacks.custom=[{_target_: sentinel.Hook}]"])
    run = validate(cfg)
    assert run.callbacks.custom == [{"_target_": "sentinel.Hook"}]
    assert not (tmp_path / "imported").exists()
    checked(cfg)
    assert (tmp_path / "imported").exists()
