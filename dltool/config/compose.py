"""Where the built-in configs live, dltool's OmegaConf resolvers, and composition with clear errors.

``dltool train`` composes a run's config here once (with its ``hydra`` node), validates it and hands
it to Hydra's job runner; a multirun goes to Hydra's own ``@hydra.main`` (its sweepers and launchers),
after each value of each swept key was composed here, so that a typo or a bad value is one line and
exit 2 before anything runs. ``dltool show`` uses the composed config directly.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dltool.config.registry import builtin_config_dir, register_all
from dltool.errors import ConfigError, did_you_mean, first_line

PRIMARY_CONFIG = "config"
GROUPS = ("data", "model", "optimizer", "regularization", "callbacks", "trainer", "logger", "sweep", "experiment")


# Short keys as Ultralytics' CLI spells them (``epochs=10 batch=16 lr0=...``), each standing for one full key.
ALIASES = {
    "epochs": "trainer.epochs",
    "batch_size": "trainer.batch_size",
    "batch": "trainer.batch_size",
    "lr": "optimizer.learning_rate",
    "learning_rate": "optimizer.learning_rate",
    "seed": "trainer.seed",
    "device": "trainer.devices",
    "devices": "trainer.devices",
    "precision": "trainer.precision",
    "backend": "trainer.backend",
    "patience": "callbacks.early_stopping.patience",
    "image_size": "data.image_size",
    "imgsz": "data.image_size",
}


def expand_aliases(argv: list[str]) -> tuple[list[str], list[str]]:
    """``argv`` with each short key written out in full, and a note per replaced word.

    >>> argv, notes = expand_aliases(["epochs=10", "lr=0.01", "model=cnn", "-m"])
    >>> argv
    ['trainer.epochs=10', 'optimizer.learning_rate=0.01', 'model=cnn', '-m']
    >>> notes
    ['epochs=10 → trainer.epochs=10', 'lr=0.01 → optimizer.learning_rate=0.01']
    """
    expanded, notes = [], []
    for word in argv:
        key, sep, value = word.partition("=")
        if sep and key in ALIASES:
            full = f"{ALIASES[key]}={value}"
            notes.append(f"{word} → {full}")
            word = full
        expanded.append(word)
    return expanded, notes


# ------------------------------------------------------------------------- resolvers
_run_dirs: dict[str, str] = {}


def unique_run_dir(base: str, name: str | None = None) -> str:
    """Create and return ``base[_name]``, or ``base[_name]-N`` if another run took it first (``os.mkdir`` is
    atomic); remembered, as Hydra may resolve the key more than once."""
    stem = f"{base}_{name}" if name else base
    if stem not in _run_dirs:
        Path(stem).parent.mkdir(parents=True, exist_ok=True)
        for i in itertools.count():
            candidate = stem if i == 0 else f"{stem}-{i}"
            try:
                os.mkdir(candidate)
            except FileExistsError:
                continue
            _run_dirs[stem] = candidate
            break
    return _run_dirs[stem]


def register_resolvers() -> None:
    """Register ``dltool_run_dir`` and ``dltool_suffix`` (idempotent)."""
    if not OmegaConf.has_resolver("dltool_run_dir"):
        OmegaConf.register_new_resolver("dltool_run_dir", unique_run_dir)
    if not OmegaConf.has_resolver("dltool_suffix"):
        OmegaConf.register_new_resolver("dltool_suffix", lambda name=None: f"_{name}" if name else "")


# ----------------------------------------------------------------------- composition
#: Hydra's flags that take a value (``--config-dir d``), and those after which Hydra answers and runs nothing.
VALUE_FLAGS = (
    "--config-name -cn --config-dir -cd --config-path -cp --cfg -c --package -p --info -i --experimental-rerun"
)
INFO_FLAGS = "--cfg -c --info -i --hydra-help --help -h --shell-completion -sc --version --experimental-rerun"


@dataclass
class HydraArgs:
    """A ``dltool train`` command line split into Hydra's flags and the overrides."""

    overrides: list[str] = field(default_factory=list)
    config_name: str = PRIMARY_CONFIG
    config_dirs: list[str] = field(default_factory=list)
    config_path: str | None = None
    informational: bool = False  # --help/--hydra-help/--info/--cfg: Hydra answers, nothing runs
    multirun: bool = False  # -m/--multirun
    flags: list[str] = field(default_factory=list)  # every word that is not an override, in order

    @property
    def argv(self) -> list[str]:
        """The command line with its flags first: Hydra's parser takes no override after a flag's value
        (``a=1 --config-dir d b=2``), which ``dltool train`` accepts anywhere."""
        return [*self.flags, *self.overrides]

    @classmethod
    def parse(cls, argv: list[str]) -> HydraArgs:
        args = cls()
        i = 0
        while i < len(argv):
            arg = argv[i]
            flag, _, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
            takes_value = flag in VALUE_FLAGS.split()
            value = inline if inline else (argv[i + 1] if takes_value and i + 1 < len(argv) else "")
            if arg.startswith("-"):
                args.flags += [arg, value] if takes_value and not inline and i + 1 < len(argv) else [arg]
            if takes_value and not inline:
                i += 1
            if flag in ("--config-name", "-cn"):
                args.config_name = value
            elif flag in ("--config-dir", "-cd"):
                args.config_dirs.append(value)
            elif flag in ("--config-path", "-cp"):
                args.config_path = value
            elif flag in INFO_FLAGS.split():
                args.informational = True
            elif flag in ("-m", "--multirun"):
                args.multirun = True
            elif not arg.startswith("-"):
                args.overrides.append(arg)
            i += 1
        return args


@contextlib.contextmanager
def files_over_stored() -> Iterator[None]:
    """Hydra's composition, with its warning about a file named like a stored option kept off the terminal:
    the file is merged over the stored defaults, which is what validation does with every node anyway."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*'[^']+' is validated against ConfigStore schema")
        yield


def check_not_shadowing(config_dir: Path, primary: Path) -> None:
    """ConfigError when an option file of ``config_dir`` has the name of one of ``primary``: Hydra searches the
    primary directory first, so the user's file would be ignored without a word."""
    for path in sorted(config_dir.glob("*/*.yaml")):
        group, name = path.parent.name, path.stem
        if (primary / group / path.name).is_file():
            raise ConfigError(
                f"--config-dir {config_dir}: {group}/{path.name} has the name of a built-in option, which Hydra "
                f"composes instead of it; rename it (e.g. {group}/my_{name}.yaml, chosen with {group}=my_{name}) and "
                f"start it with 'defaults: [{name}, _self_]' to build on the built-in one"
            )


def compose(
    overrides: list[str],
    config_name: str = PRIMARY_CONFIG,
    config_dirs: tuple[str, ...] | list[str] = (),
    config_path: str | None = None,
    with_hydra: bool = False,
) -> DictConfig:
    """Compose the config like ``dltool train`` would, mapping Hydra's errors to one line; ``with_hydra`` keeps
    the ``hydra`` node (run directory, logging): what a job runs with."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

    register_resolvers()
    register_all()
    primary = Path(config_path).resolve() if config_path else builtin_config_dir()
    if not primary.is_dir():
        raise ConfigError(f"--config-path {config_path}: no such directory")
    search = list(config_dirs)
    if config_path:
        search.append(str(builtin_config_dir()))
    for d in config_dirs:
        if not Path(d).is_dir():
            raise ConfigError(f"--config-dir {d}: no such directory")
        check_not_shadowing(Path(d), primary)
    extra = [f"hydra.searchpath=[{','.join('file://' + str(Path(d).resolve()) for d in search)}]"] if search else []
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(primary), version_base="1.3"), files_over_stored():
            return hydra_compose(config_name, overrides=[*overrides, *extra], return_hydra_config=with_hydra)
    except MissingConfigException as err:
        raise ConfigError(_missing_message(err, config_name)) from None
    except OverrideParseException as err:
        raise ConfigError(f"cannot parse the override: {first_line(err)}") from None
    except ConfigCompositionException as err:
        raise ConfigError(_composition_message(err, overrides, config_name, config_dirs, config_path)) from None
    finally:
        GlobalHydra.instance().clear()


def expand_sweeps(overrides: list[str], multirun: bool = True) -> list[list[str]]:
    """One override list per value of each swept key (others at their first value): every value of a multirun is
    checked without composing the whole grid. Without ``multirun`` (no ``-m``) a swept key is a one-line error."""
    values = sweep_values(overrides, multirun)
    first = [v[0] for v in values if v]
    combos = [first]
    for i, options in enumerate(values):
        for option in options[1:]:
            combos.append([option if j == i else v[0] for j, v in enumerate(values) if v])
    return combos


def sweep_values(overrides: list[str], multirun: bool = True) -> list[list[str]]:
    """Each override as the list of ``key=value`` words it stands for: one for a plain override, one per value
    of a swept key (``model=mlp,cnn``), none for a continuous range (only a search plugin can sample it).

    >>> sweep_values(["model=mlp,cnn", "trainer.epochs=1"])
    [['model=mlp', 'model=cnn'], ['trainer.epochs=1']]
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as err:
        raise ConfigError(f"cannot parse the override: {first_line(err)}") from None
    values: list[list[str]] = []
    for override in parsed:
        if override.is_sweep_override() and not multirun:
            raise ConfigError(
                f"{override.input_line}: several values need -m (--multirun) to run one job each; "
                f"a list is written [a,b], a string with commas quoted: key='a,b'"
            )
        if override.is_discrete_sweep():
            values.append([f"{override.get_key_element()}={v}" for v in override.sweep_string_iterator()])
        else:
            values.append([] if override.is_sweep_override() else [override.input_line])
    return values


def _missing_message(err: Exception, config_name: str) -> str:
    missing = getattr(err, "missing_cfg_file", None) or ""
    options = list(getattr(err, "options", None) or [])
    if "/" in missing:
        group, choice = missing.rsplit("/", 1)
        return (
            f"{group}={choice}: no such {group} option{did_you_mean(choice, options)}; "
            f"choices: {', '.join(sorted(options))}"
        )
    return f"config '{missing or config_name}' not found: {first_line(err)}"


def _composition_message(
    err: Exception,
    overrides: list[str],
    config_name: str,
    config_dirs: tuple[str, ...] | list[str],
    config_path: str | None,
) -> str:
    text = str(err)
    match = re.search(r"Could not (?:override|delete from config.) '([^']+)'", text)
    if match:
        key = match.group(1)
        # The same overrides without the unknown key: composing them cannot fail on it again, so this
        # recursion ends (each level drops one key).
        rest = [o for o in overrides if _override_key(o) != key]
        try:
            base = compose(rest, config_name, config_dirs, config_path)
        except ConfigError:
            base = None
        return _unknown_key_message(key, _override_value(overrides, key), base)
    if "Ambiguous value" in text:
        return f"{first_line(err)}: add -m (--multirun) to sweep over the values, or write a list as [a,b]"
    return first_line(err)


def _override_key(override: str) -> str:
    """The dotted key of ``key=value``, ``+key=value``, ``++key=value`` or ``~key``."""
    return override.split("=", 1)[0].lstrip("+~")


def _override_value(overrides: list[str], key: str) -> str | None:
    values = [o.split("=", 1)[1] for o in overrides if "=" in o and _override_key(o) == key]
    return values[-1] if values else None


def _unknown_key_message(key: str, value: str | None, base: DictConfig | None) -> str:
    """``unknown key 'epochs' (did you mean trainer.epochs=3?)``: the close matches are looked for among the
    keys of the node the key names, then among every key of the config by its last part."""
    parent, _, leaf = key.rpartition(".")
    siblings: list[str] = []
    every_key: list[str] = []
    if base is not None:
        node = OmegaConf.select(base, parent) if parent else base
        if isinstance(node, DictConfig):
            siblings = [str(k) for k in node if k != "hydra"]
        every_key = [k for k in _dotted_keys(OmegaConf.to_container(base)) if not k.startswith("hydra.")]
    hint = did_you_mean(leaf, siblings)
    if not hint:
        same_leaf = [k for k in every_key if k.rpartition(".")[2] == leaf and k != key]
        close = same_leaf or difflib.get_close_matches(key, every_key, n=1, cutoff=0.75)
        if not close:
            by_leaf = {k.rpartition(".")[2]: k for k in every_key}
            close = [by_leaf[m] for m in difflib.get_close_matches(leaf, list(by_leaf), n=1, cutoff=0.8)]
        if close:
            hint = f" (did you mean {close[0]}{'=' + value if value is not None else ''}?)"
    valid = f"; valid keys here: {', '.join(siblings)}" if siblings and parent else ""
    return f"unknown key '{key}'{hint}{valid} (use +{key}=... to add a new key)"


def _dotted_keys(node: dict, prefix: str = "") -> list[str]:
    """Every key of a plain config, dotted (``trainer.epochs``), interior nodes included."""
    keys: list[str] = []
    for name, child in node.items():
        keys.append(f"{prefix}{name}")
        if isinstance(child, dict):
            keys += _dotted_keys(child, f"{prefix}{name}.")
    return keys
