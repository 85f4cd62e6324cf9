"""Find a run, apply a command's ``key=value`` overrides to its saved config, load its checkpoint safely.

A *target* is a run directory (its ``checkpoints/best.keras`` is used, else ``last.keras``) or a
``.keras`` file; a file inside ``<run>/checkpoints/`` belongs to that run. The run's resolved config
(``.hydra/config.yaml``) is the base; ``data=<option>`` swaps its data node for that option's
defaults, and dotted keys (``data.max_samples=100``) are set on top, then everything is validated.

Example:
    >>> target = locate("outputs/2026-11-23/10-00-00")  # doctest: +SKIP
    >>> target.checkpoint.name, target.label  # doctest: +SKIP
    ('best.keras', '2026-11-23/10-00-00')
    >>> model = load_model(target.checkpoint)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dltool.config import RunConfig, compose, validate
from dltool.config.compose import GROUPS
from dltool.config.validate import validate_node
from dltool.errors import ConfigError, did_you_mean, first_line
from dltool.rundir import read_results

_OVERRIDE = re.compile(r"^\+{0,2}([A-Za-z_][\w.]*)=(.*)$")


@dataclass
class Target:
    """A checkpoint to load, and the run directory it belongs to (None for a stand-alone file)."""

    checkpoint: Path
    run_dir: Path | None

    @property
    def label(self) -> str:
        """A short name for tables: ``<date>/<time>`` of a run, the file name otherwise."""
        if self.run_dir is None:
            return self.checkpoint.name
        return "/".join(self.run_dir.resolve().parts[-2:])

    @property
    def home(self) -> Path:
        """Where new files about this target go: the run directory, or the file's folder."""
        return self.run_dir if self.run_dir is not None else self.checkpoint.parent

    def results(self) -> dict[str, Any]:
        """The run's ``results.json``; empty when it has no readable one."""
        return {} if self.run_dir is None else read_results(self.run_dir)


def split_arguments(arguments: list[str]) -> tuple[list[str], list[str]]:
    """Targets (existing paths, or words without ``=``) and ``key=value`` overrides, in order.

    >>> split_arguments(["runA", "runB", "ensemble.weights=auto"])
    (['runA', 'runB'], ['ensemble.weights=auto'])
    """
    targets, overrides = [], []
    for arg in arguments:
        (overrides if "=" in arg and not Path(arg).exists() else targets).append(arg)
    return targets, overrides


def parse_overrides(overrides: list[str]) -> list[tuple[str, str]]:
    """``[(key, value)]`` of ``key=value`` words (a leading ``+``/``++`` is accepted and ignored)."""
    pairs = []
    for override in overrides:
        match = _OVERRIDE.match(override)
        if not match:
            raise ConfigError(f"cannot parse the override '{override}': expected key=value, e.g. data.max_samples=100")
        pairs.append((match.group(1), match.group(2)))
    return pairs


def settings(group: str, schema: type, pairs: list[tuple[str, str]]) -> Any:
    """A command's own keys (``split=val``, ``format=tflite``) validated against ``schema``."""
    node = OmegaConf.from_dotlist([f"{key}={value}" for key, value in pairs])
    return validate_node(group, node, schema)


def locate(target: str) -> Target:
    """The checkpoint and run directory named by a command-line word; exit 2 if there is none."""
    path = Path(target)
    if path.is_dir():
        if not (path / ".hydra" / "config.yaml").is_file():
            raise ConfigError(f"{target}: not a run directory (no .hydra/config.yaml)")
        for name in ("best.keras", "last.keras"):
            if (path / "checkpoints" / name).is_file():
                check_archive(path / "checkpoints" / name)
                return Target(path / "checkpoints" / name, path)
        raise ConfigError(f"{target}: no checkpoint (checkpoints/best.keras or checkpoints/last.keras)")
    if path.is_file():
        if path.suffix != ".keras":
            raise ConfigError(f"{target}: not a .keras file or a run directory")
        check_archive(path)
        run_dir = path.parent.parent
        inside_run = path.parent.name == "checkpoints" and (run_dir / ".hydra" / "config.yaml").is_file()
        return Target(path, run_dir if inside_run else None)
    parent = path.parent if path.parent.is_dir() else Path(".")
    hint = did_you_mean(path.name, [p.name for p in parent.iterdir()]) if parent.is_dir() else ""
    raise ConfigError(f"{target}: no such run directory or .keras file{hint}")


def run_config(target: Target, overrides: list[tuple[str, str]]) -> tuple[DictConfig, RunConfig]:
    """The target's config with ``overrides`` applied, and its validated form.

    A stand-alone ``.keras`` file has no saved config: the defaults are composed, and its
    dataset must be named (``data=digits``).
    """
    groups = {key: value for key, value in overrides if key in GROUPS}
    keys = [f"{key}={value}" for key, value in overrides if key not in GROUPS]
    for group in groups:
        if group != "data":
            raise ConfigError(
                f"{group}={groups[group]}: only the data group can change here (the model is the checkpoint)"
            )
    if target.run_dir is None:
        if "data" not in groups:
            raise ConfigError(f"{target.checkpoint}: not inside a run directory, so name its dataset, e.g. data=digits")
        cfg = compose([f"data={groups['data']}", *keys])
        return cfg, validate(cfg)
    cfg = saved_config(target.run_dir)
    if "data" in groups:
        cfg.data = compose([f"data={groups['data']}"]).data
    try:
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(keys))
    except Exception as err:  # OmegaConf's grammar errors name the value
        raise ConfigError(f"cannot apply {' '.join(keys)}: {first_line(err)}") from None
    run = validate(cfg)
    if run.model.name == "gan":  # its checkpoint is a generator: there are no labels to score or predict
        raise ConfigError(
            f"{target.run_dir}: a GAN run (model=gan) has nothing to score or predict; its generator is "
            f"{target.checkpoint} and its generated images are in samples/"
        )
    return cfg, run


def saved_config(run_dir: Path) -> DictConfig:
    """The run's resolved config (``.hydra/config.yaml``); one line if it is not a readable one."""
    saved = run_dir / ".hydra" / "config.yaml"
    try:
        cfg = OmegaConf.load(saved)
    except Exception as err:  # YAML's errors span several lines: the first names the problem
        raise ConfigError(f"{saved}: not a readable config ({first_line(err)})") from None
    if not isinstance(cfg, DictConfig):
        raise ConfigError(f"{saved}: not a readable config (expected a mapping of groups)")
    return cfg


def has_named_io(model: Any) -> bool:
    """Whether a model takes or gives dicts keyed by name (several inputs or outputs: ``model=graph``)."""
    named = isinstance(model.input, dict) or isinstance(model.output, dict)
    return named or len(model.inputs) > 1 or len(model.outputs) > 1


def io_names(model: Any) -> tuple[list[str], list[str]]:
    """The names of a model's inputs and of its outputs."""
    inputs = list(model.input) if isinstance(model.input, dict) else [getattr(t, "name", "?") for t in model.inputs]
    return inputs, list(getattr(model, "output_names", []) or [])


def check_names(model: Any, spec: Any, label: str) -> None:
    """The model's named inputs and outputs are the data's, by name; else one line naming both sides."""
    for what, names, given in zip(("inputs", "outputs"), io_names(model), (spec.inputs, spec.outputs), strict=True):
        if given is not None and sorted(names) != sorted(given):
            raise ConfigError(
                f"{label}: the model's {what} are {', '.join(names)}, the data's are {', '.join(given)} "
                f"(data.{what if what == 'inputs' else 'targets'} names them)"
            )


def load_model(checkpoint: Path, unsafe: bool = False) -> Any:
    """The Keras model of a ``.keras`` file, uncompiled, in safe mode unless ``unsafe``."""
    import keras

    from dltool.models import import_builders

    import_builders()  # registers dltool's custom layers for deserialization

    try:
        return keras.saving.load_model(checkpoint, safe_mode=not unsafe, compile=False)
    except ValueError as err:
        if "safe_mode" in str(err):
            raise ConfigError(
                f"{checkpoint}: loading it would run Python code stored in the file (e.g. a Lambda layer); "
                "pass --unsafe only if you trust its source"
            ) from None
        raise ConfigError(f"{checkpoint}: cannot be loaded ({str(err).splitlines()[0]})") from None
    except OSError as err:
        raise ConfigError(f"{checkpoint}: cannot be read ({err})") from None


def check_archive(checkpoint: Path) -> None:
    """A ``.keras`` file is a zip archive: a truncated or damaged one is named as such when the command line is
    read, before Keras is imported, with the run's other checkpoint as the way out."""
    try:
        with zipfile.ZipFile(checkpoint) as archive:
            damaged = archive.testzip()
    except FileNotFoundError:
        raise ConfigError(f"{checkpoint}: no such file") from None
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        damaged = str(err) or type(err).__name__
    if damaged is None:
        return
    other = checkpoint.with_name("last.keras" if checkpoint.name == "best.keras" else "best.keras")
    instead = f"; use {other} instead" if other.is_file() and checkpoint.parent.name == "checkpoints" else ""
    raise ConfigError(f"{checkpoint}: corrupt (truncated or not a .keras archive: {damaged}){instead}")


def new_output_dir(parent: Path, suffix: str = "") -> Path:
    """A new ``parent/<YYYY-MM-DD_HH-MM-SS>[suffix][-N]`` directory (never an existing one)."""
    return _claim_new(parent, suffix, "", os.mkdir)


def new_output_file(parent: Path, extension: str) -> Path:
    """A new, empty ``parent/<YYYY-MM-DD_HH-MM-SS>[-N]<extension>`` file (never an existing one)."""
    return _claim_new(parent, "", extension, lambda path: os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)))


def _claim_new(parent: Path, suffix: str, extension: str, create: Callable[[Path], None]) -> Path:
    """The first timestamped name under ``parent`` that ``create`` makes (it raises FileExistsError on a taken
    name): creating is the test, so two commands started in the same second never share a name."""
    stem = datetime.now().strftime("%Y-%m-%d_%H-%M-%S") + suffix
    parent.mkdir(parents=True, exist_ok=True)
    for i in range(1000):
        candidate = parent / f"{stem}{f'-{i}' if i else ''}{extension}"
        try:
            create(candidate)
            return candidate
        except FileExistsError:
            continue
    raise ConfigError(f"{parent}: cannot create a new output {'file' if extension else 'directory'}")
