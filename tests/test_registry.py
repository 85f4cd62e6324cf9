"""Options registered in code: each schema registers itself once, Hydra's ConfigStore composes an option with
no YAML file, and a file of the same name wins over the stored defaults."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from dltool.config import builtin_config_dir, compose, validate
from dltool.config.catalog import complete_override
from dltool.config.fields import opt
from dltool.config.model import ModelConfig
from dltool.config.registry import SCHEMAS, register
from dltool.errors import ConfigError


@dataclass
class TinyConfig(ModelConfig):
    """A small dense net, registered in code alone."""

    builder: ClassVar[str] = "tests.test_registry:build_tiny"
    name: str = "tiny"
    hidden_units: list[int] = opt([3], "sizes of the hidden Dense layers")


def build_tiny(cfg: TinyConfig, inputs: Any, reg: Any) -> Any:
    """The body of ``model=tiny``: its Dense layers."""
    import keras

    for units in cfg.hidden_units:
        inputs = keras.layers.Dense(units, activation="relu")(inputs)
    return inputs


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[TinyConfig]]:
    """``model=tiny`` registered for one test: the registry and Hydra's ConfigStore are restored after it."""
    monkeypatch.setitem(SCHEMAS, "model", dict(SCHEMAS["model"]))
    register("model", TinyConfig)
    yield TinyConfig
    # only this entry goes: Hydra's plugins store their own options when first imported, during a test
    del ConfigStore.instance().repo["model"]["tiny.yaml"]


def test_an_option_registered_in_code_composes_without_a_yaml_file(tiny: type[TinyConfig]) -> None:
    assert not (builtin_config_dir() / "model" / "tiny.yaml").exists()
    cfg = compose(["model=tiny"])
    assert OmegaConf.to_container(cfg.model) == {"name": "tiny", "output_activation": "auto", "hidden_units": [3]}
    run = validate(compose(["model=tiny", "model.hidden_units=[5,2]"]))
    assert type(run.model) is tiny and run.model.hidden_units == [5, 2]


def test_an_option_registered_in_code_builds_with_the_builder_its_schema_names(tiny: type[TinyConfig]) -> None:
    from dltool.config.regularization import RegularizationConfig
    from dltool.data import DataSpec
    from dltool.models import build_model, builder

    assert builder("tiny") is build_tiny
    model = build_model(tiny(hidden_units=[3]), DataSpec((4,), "binary", 1), RegularizationConfig())
    assert model.count_params() == (4 * 3 + 3) + (3 + 1)


def test_a_bad_override_of_a_stored_option_is_the_same_line_as_of_a_file_option(tiny: type[TinyConfig]) -> None:
    messages = []
    for model in ("mlp", "tiny"):
        with pytest.raises(ConfigError) as err:
            validate(compose([f"model={model}", "model.hidden_units=abc"]))
        messages.append(str(err.value))
        with pytest.raises(ConfigError, match=r"unknown key 'model.hiden_units' \(did you mean hidden_units"):
            compose([f"model={model}", "model.hiden_units=[1]"])
    assert messages[0] == messages[1]
    with pytest.raises(ConfigError, match=r"model=tny: no such model option \(did you mean tiny\?\)"):
        compose(["model=tny"])


def test_a_file_wins_over_the_stored_option(tiny: type[TinyConfig], tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "tiny.yaml").write_text("# my tiny\nname: tiny\nhidden_units: [7]\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Hydra's warning about the same name in a file and the store is not shown
        run = validate(compose(["model=tiny"], config_dirs=[str(tmp_path)]))
    assert run.model.hidden_units == [7]


def test_built_in_options_are_their_files_not_stored_nodes() -> None:
    """An option with a file in conf/ is not in the ConfigStore: Hydra would validate the file against it,
    typing the node (its override errors would change) and warning about it."""
    stored = ConfigStore.instance().repo
    for group, options in SCHEMAS.items():
        for name in options:
            if (builtin_config_dir() / group / f"{name}.yaml").is_file():
                assert f"{name}.yaml" not in stored.get(group, {}), f"{group}={name}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = compose(["model=resnet", "data=xor"])
    assert OmegaConf.get_type(cfg.model) is dict and OmegaConf.get_type(cfg.data) is dict


def test_dltool_list_and_completion_offer_an_option_registered_in_code(tiny: type[TinyConfig]) -> None:
    from typer.testing import CliRunner

    from dltool.cli import app

    result = CliRunner().invoke(app, ["list", "model", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)["model"]
    assert listed["tiny"] == "A small dense net, registered in code alone."
    assert listed["mlp"].startswith("Multilayer perceptron")
    assert complete_override("model=ti", []) == ["model=tiny"]
    assert "model.hidden_units=" in complete_override("model.hid", ["model=tiny"])


def test_hydra_main_composes_an_option_registered_in_code(
    tiny: type[TinyConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    """``dltool train --cfg job`` is answered by Hydra's own ``@hydra.main``, as a multirun is."""
    from dltool.commands.train import train_command

    assert train_command(["model=tiny", "model.hidden_units=[4]", "--cfg", "job"]) == 0
    printed = OmegaConf.create(capsys.readouterr().out)
    assert printed.model == {"name": "tiny", "output_activation": "auto", "hidden_units": [4]}


ONE_MODULE = '''"""A model of one module: its schema and its builder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.model import ModelConfig
from dltool.config.registry import option


@option("model")
@dataclass
class WideConfig(ModelConfig):
    """One wide Dense layer, its schema and builder in one module."""

    builder: ClassVar[str] = "dltool.models.wide_one:build_wide"
    name: str = "wide_one"
    units: int = opt(6, "units of the Dense layer", gt=0)


def build_wide(cfg: WideConfig, inputs: Any, reg: Any) -> Any:
    import keras

    return keras.layers.Dense(cfg.units, activation="relu", name="wide")(inputs)
'''


ONE_DATA_MODULE = '''"""A data source of one module: its schema, spec, loader and Source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dltool.config.data import SplitDataConfig
from dltool.config.fields import opt
from dltool.config.registry import option
from dltool.data.base import DataSpec, Source, make_dataset


@option("data")
@dataclass
class RampConfig(SplitDataConfig):
    """y = 2x on [0, 1], its schema and loader in one module."""

    source: ClassVar[str] = "dltool.data.ramp_one:SOURCE"
    name: str = "ramp_one"
    num_samples: int = opt(50, "number of points", gt=3)


def spec(cfg: RampConfig) -> DataSpec:
    return DataSpec(input_shape=(1,), task="regression", num_classes=1)


def load(cfg: RampConfig, seed: int):
    x = np.linspace(0, 1, cfg.num_samples, dtype="float32")[:, None]
    return make_dataset(spec(cfg), cfg, seed, x, 2 * x[:, 0])


SOURCE = Source(spec, load)
'''


def discovered_module(group: str, package: str, name: str, text: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A module ``<package>.<name>`` in a folder of the package, and a ``group`` not read yet: its first read
    imports the package's modules, the new one registering ``<group>=<name>``."""
    import importlib
    import sys

    from dltool.config.registry import Discovered

    found = importlib.import_module(package)
    (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.setattr(found, "__path__", [*found.__path__, str(tmp_path)])
    options = Discovered(package)
    options.options.update(SCHEMAS[group])  # the modules imported already do not register again
    monkeypatch.setitem(SCHEMAS, group, options)
    yield name
    sys.modules.pop(f"{package}.{name}", None)
    ConfigStore.instance().repo[group].pop(f"{name}.yaml", None)


@pytest.fixture
def one_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    yield from discovered_module("model", "dltool.models", "wide_one", ONE_MODULE, monkeypatch, tmp_path)


@pytest.fixture
def one_data_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    yield from discovered_module("data", "dltool.data", "ramp_one", ONE_DATA_MODULE, monkeypatch, tmp_path)


def test_a_model_of_one_module_is_discovered_composed_validated_built_and_listed(one_module: str) -> None:
    from typer.testing import CliRunner

    from dltool.cli import app
    from dltool.config.regularization import RegularizationConfig
    from dltool.data import DataSpec
    from dltool.models import build_model

    assert list(SCHEMAS["model"])[-1] == one_module  # read: discovered, after the built-in models
    run = validate(compose([f"model={one_module}", "model.units=3"]))
    assert type(run.model).__module__ == "dltool.models.wide_one" and run.model.units == 3
    model = build_model(run.model, DataSpec((4,), "binary", 1), RegularizationConfig())
    assert model.get_layer("wide").units == 3 and model.count_params() == (4 * 3 + 3) + (3 + 1)
    result = CliRunner().invoke(app, ["list", "model", "--json"])
    assert result.exit_code == 0, result.output
    assert (
        json.loads(result.output)["model"][one_module] == "One wide Dense layer, its schema and builder in one module."
    )


def test_a_data_source_of_one_module_is_discovered_composed_validated_loaded_and_listed(one_data_module: str) -> None:
    from typer.testing import CliRunner

    from dltool.cli import app
    from dltool.data import load_dataset

    assert list(SCHEMAS["data"])[-1] == one_data_module  # read: discovered, after the built-in sources
    run = validate(compose([f"data={one_data_module}", "data.num_samples=40", "model=mlp"]))
    assert type(run.data).__module__ == "dltool.data.ramp_one" and run.data.num_samples == 40
    data = load_dataset(run.data, seed=0)
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 40 and data.spec.task == "regression"
    assert float(abs(data.y_train.ravel() - 2 * data.x_train.ravel()).max()) < 1e-6
    result = CliRunner().invoke(app, ["list", "data", "--json"])
    assert result.exit_code == 0, result.output
    assert (
        json.loads(result.output)["data"][one_data_module] == "y = 2x on [0, 1], its schema and loader in one module."
    )
