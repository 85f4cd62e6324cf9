"""dltool list (the config groups' choices with their descriptions) and shell completion of overrides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dltool.cli import app
from dltool.config.catalog import catalog, complete_override, describe, group_options
from dltool.config.registry import builtin_config_dir, defaults
from dltool.config.registry import describe as describe_schema
from dltool.config.schemas import SCHEMAS
from dltool.errors import ConfigError


@pytest.fixture
def user_conf(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "tiny_mlp.yaml").write_text(
        "# A tiny MLP of my lab: Dense 8,\n# then the output layer.\n#   dltool train model=tiny_mlp\n"
        "defaults:\n  - mlp\n  - _self_\nhidden_units: [8]\n"
    )
    return tmp_path


def test_every_group_and_option_file_is_listed_with_its_header() -> None:
    groups = catalog()
    conf = builtin_config_dir()
    expected = {p.name for p in conf.iterdir() if p.is_dir() and p.name != "hydra"} | set(SCHEMAS)
    assert set(groups) == expected
    for group, options in groups.items():
        files = {p.stem for p in (conf / group).glob("*.yaml")} if (conf / group).is_dir() else set()
        assert set(options) == files | set(SCHEMAS.get(group, {}))
        assert all(o.description for o in options.values()), group  # every option file (or schema) has a header
        for name, o in options.items():
            assert (o.path is None) == (name not in files), (group, name)
            if o.path is None:  # described by its schema's docstring
                assert o.description == describe_schema(SCHEMAS[group][name]), (group, name)
                assert not o.description.startswith(SCHEMAS[group][name].__name__), (group, name)
    assert [o.name for o in groups["data"].values() if o.default] == ["digits"]
    assert [o.name for o in groups["model"].values() if o.default] == ["mlp"]
    assert groups["experiment"]["mnist_autoencoder"].description.startswith("A convolutional autoencoder on MNIST")


def test_describe_joins_the_header_and_stops_at_examples(user_conf: Path) -> None:
    assert describe(user_conf / "model" / "tiny_mlp.yaml") == "A tiny MLP of my lab: Dense 8, then the output layer."
    packaged = user_conf / "p.yaml"
    packaged.write_text("# @package _global_\n# A preset.\n\nname: x\n")
    assert describe(packaged) == "A preset."


def test_a_schema_docstring_describes_its_option_by_the_rule_of_a_file_header(tmp_path: Path) -> None:
    class Tiny:
        """A tiny MLP of my lab: Dense 8,
        then the output layer.

        Example:
            dltool train model=tiny_mlp
        """

    (tmp_path / "tiny.yaml").write_text(
        "# A tiny MLP of my lab: Dense 8,\n# then the output layer.\n#\n# Example:\n#   dltool train model=tiny_mlp\n"
    )
    assert (
        describe_schema(Tiny)
        == describe(tmp_path / "tiny.yaml")
        == "A tiny MLP of my lab: Dense 8, then the output layer."
    )
    assert describe_schema(SCHEMAS["model"]["mlp"]).startswith("Multilayer perceptron: Dense 64 -> Dense 64")


# Option files that repeat their schema's defaults yet stay: their keys are in another order than the schema's
# fields, and the composed config (``dltool show``, a run's config.yaml) keeps a file's order.
KEPT_FOR_KEY_ORDER = {
    "data": {"arrays", "camera_pairs", "csv", "digits", "function", "image_folder", "imdb", "posts", "qa"}
    | {"sentence_pairs", "sequences", "synthetic", "text_folder", "timeseries"},
    "model": {"transfer"},
    "optimizer": {"adagrad", "adam", "adamw", "nadam", "rmsprop", "sgd"},
}


def test_no_option_file_merely_repeats_its_schema_defaults() -> None:
    """A schema is the one place of an option's defaults (and its docstring of its description): a file of
    conf/{data,model,optimizer,logger} is a preset that sets something else. A schema serving several options
    (the point sets, the archives) keeps a file per option, for its description."""
    from omegaconf import OmegaConf

    conf = builtin_config_dir()
    for group, schemas in SCHEMAS.items():
        for path in sorted((conf / group).glob("*.yaml")) if (conf / group).is_dir() else []:
            raw = OmegaConf.to_container(OmegaConf.load(path))
            schema = schemas.get(raw.get("name", path.stem))
            if schema is None or list(schemas.values()).count(schema) > 1:
                continue
            stored = defaults(schema, path.stem)
            if path.stem in KEPT_FOR_KEY_ORDER.get(group, ()):
                assert raw == stored and list(raw) != list(stored), f"{path}: no longer needs its place in the list"
                continue
            assert raw != stored, f"{path} repeats {schema.__name__}'s defaults: delete it, its header to the docstring"


def test_user_config_dirs_add_options(user_conf: Path) -> None:
    options = group_options("model", [str(user_conf)])
    assert options["tiny_mlp"].description.startswith("A tiny MLP of my lab") and "resnet" in options
    with pytest.raises(ConfigError, match=r"no config group 'modle' \(did you mean model\?\)"):
        group_options("modle")


def test_list_command_prints_one_group_or_all_and_exits_2_on_a_typo(user_conf: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["list", "optimizer"])
    assert result.exit_code == 0, result.output
    assert "nesterov" in result.output and "adam *" in result.output and "model=" not in result.output
    result = runner.invoke(app, ["list", "--json", "--config-dir", str(user_conf)])
    listed = json.loads(result.output)
    assert listed["model"]["tiny_mlp"].startswith("A tiny MLP") and "digits" in listed["data"]
    result = runner.invoke(app, ["list", "optimiser"])
    assert result.exit_code == 2 and "did you mean optimizer?" in result.output


def test_list_prints_square_brackets_of_a_description_as_written() -> None:
    result = CliRunner().invoke(app, ["list", "logger"])
    assert result.exit_code == 0 and "'dltool[mlflow]'" in " ".join(result.output.split()), result.output


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["list"], "m in ('tensorflow', 'keras')"),
        (["list", "model"], "m.startswith('dltool.data.') or m == 'numpy'"),  # one group: only its own modules
    ],
)
def test_list_imports_no_more_than_it_shows(args: list[str], wanted: str) -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom dltool.cli import app\n"
        f"r = CliRunner().invoke(app, {args!r})\nassert r.exit_code == 0 and 'resnet' in r.output, r.output\n"
        f"print(sorted(m for m in sys.modules if {wanted}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("incomplete", "args", "expected"),
    [
        ("optimizer=ad", [], ["optimizer=adagrad", "optimizer=adam", "optimizer=adamw"]),
        ("+optimizer=n", [], ["+optimizer=nadam", "+optimizer=nesterov"]),
        ("trainer.ep", [], ["trainer.epochs="]),
        ("model.dep", ["model=resnet"], ["model.depth="]),
        ("model.dep", [], []),  # the default model (mlp) has no depth
        ("model.hidden", [], ["model.hidden_units="]),
        ("callbacks.early_stopping.pa", [], ["callbacks.early_stopping.patience="]),
        (
            "optimizer.sch",
            [],
            [f"optimizer.schedule.{k}=" for k in ("decay_rate", "min_learning_rate", "step_size", "warmup_epochs")],
        ),
        ("na", [], ["name="]),
        ("da", [], ["data.", "data="]),
        ("re", ["model", "="], ["resnet"]),  # bash splits model=re at the "="
    ],
)
def test_completion_of_overrides(incomplete: str, args: list[str], expected: list[str]) -> None:
    assert complete_override(incomplete, args) == expected


def test_completion_sees_user_options_and_schema_keys(user_conf: Path) -> None:
    assert complete_override("model=tin", ["--config-dir", str(user_conf)]) == ["model=tiny_mlp"]
    assert "callbacks.activation_logger.enabled=" in complete_override("callbacks.act", [])


def test_shell_completion_goes_through_the_command_line() -> None:
    env = {"_DLTOOL_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "dltool train model=resnet model.de"}
    code = "from dltool.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, "PATH": ""}).stdout
    assert "model.depth=" in out
