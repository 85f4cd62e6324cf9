"""What the config tree offers, read from the option files and the schemas alone (no TensorFlow):
the choices of each group with their one-line descriptions (``dltool list``), and the shell
completion of overrides (``group=choice``, ``group.key=``) for ``dltool train``/``show``/``sweep``.

Example:
    >>> catalog()["optimizer"]["adamw"].description
    'AdamW: Adam with decoupled weight decay (keras.optimizers.AdamW).'
    >>> complete_override("optimizer=ad", [])
    ['optimizer=adagrad', 'optimizer=adam', 'optimizer=adamw']
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dltool.config import registry
from dltool.config.registry import builtin_config_dir
from dltool.errors import ConfigError, did_you_mean

HIDDEN_GROUPS = ("hydra",)  # Hydra's own settings (run-directory naming): not a choice users make


@dataclass(frozen=True)
class Option:
    """One option of a group; ``path`` None: registered in code alone."""

    name: str
    description: str
    path: Path | None
    default: bool = False


def describe(path: Path) -> str:
    """The comment header of an option file as one line (``# @package`` lines skipped), read by the rule of a
    schema's docstring (:func:`~dltool.config.registry.summary`)."""
    header: list[str] = []
    for raw in path.read_text().splitlines():
        if not raw.startswith("#"):
            break
        text = raw[1:]
        if not text.strip().startswith("@package"):
            header.append(text.removeprefix(" "))
    return registry.summary(header)


def _defaults(primary: Path) -> dict[str, str]:
    """The default choice of each group, from the primary config's defaults list."""
    from omegaconf import OmegaConf

    found: dict[str, str] = {}
    config = primary / "config.yaml"
    if not config.exists():
        return found
    for entry in OmegaConf.to_container(OmegaConf.load(config)).get("defaults", []):
        if isinstance(entry, dict):
            for key, value in entry.items():
                if value is not None:
                    found[str(key).removeprefix("optional ").removeprefix("override ")] = str(value)
    return found


def catalog(config_dirs: tuple[str, ...] | list[str] = (), only: str | None = None) -> dict[str, dict[str, Option]]:
    """Every group of the built-in config and of ``config_dirs`` (``--config-dir``), with its options: the files,
    and the options registered in code alone (:mod:`dltool.config.registry`). ``only``: that group alone, so
    the other groups' schema modules are not imported."""
    primary = builtin_config_dir()
    defaults = _defaults(primary)
    groups: dict[str, dict[str, Option]] = {}
    for root in [primary, *[Path(d) for d in config_dirs]]:
        if not root.is_dir():
            raise ConfigError(f"--config-dir {root}: no such directory")
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in HIDDEN_GROUPS):
            if only not in (None, folder.name):
                continue
            options = groups.setdefault(folder.name, {})
            for path in sorted(folder.glob("*.yaml")):
                if path.stem in options:  # Hydra composes the first directory's file of a name
                    continue
                default = defaults.get(folder.name) == path.stem
                options[path.stem] = Option(path.stem, describe(path), path, default)
    for group, schemas in registry.SCHEMAS.items():
        if only not in (None, group):
            continue
        options = groups.setdefault(group, {})
        for name, schema in schemas.items():
            if name not in options:  # a file of that name is what Hydra composes
                options[name] = Option(name, registry.describe(schema), None, defaults.get(group) == name)
    return {group: dict(sorted(options.items())) for group, options in sorted(groups.items()) if options}


def group_options(group: str, config_dirs: tuple[str, ...] | list[str] = ()) -> dict[str, Option]:
    """The options of ``group``; ConfigError (with a suggestion) for an unknown group."""
    groups = catalog(config_dirs, only=group)
    if group not in groups:
        groups = catalog(config_dirs)
        raise ConfigError(f"no config group '{group}'{did_you_mean(group, groups)}; groups: {', '.join(groups)}")
    return groups[group]


# ------------------------------------------------------------------------ completion
def _schema(group: str, choice: str | None) -> Any:
    """The dataclass of ``group`` (of its option ``choice`` for data/model/optimizer), or None."""
    from dltool.config import schemas

    if group in schemas.SINGLE_SCHEMAS:
        return schemas.SINGLE_SCHEMAS[group]
    return schemas.SCHEMAS.get(group, {}).get(choice or "")


def _chosen(args: list[str], config_dirs: list[str]) -> dict[str, str]:
    """The choice of each group on the command line so far, else the default."""
    chosen = _defaults(builtin_config_dir())
    for arg in args:
        key, sep, value = arg.lstrip("+").partition("=")
        if sep and "." not in key and "," not in value:
            chosen[key] = value
    return chosen


def _keys(schema: Any, prefix: str) -> list[str]:
    """``prefix.field=`` for each leaf field of ``schema``, ``prefix.field.`` for nested dataclasses."""
    out = []
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        nested = hints.get(f.name)
        if dataclasses.is_dataclass(nested):
            out += _keys(nested, f"{prefix}.{f.name}")
        elif f.name != "name":
            out.append(f"{prefix}.{f.name}=")
    return out


def complete_override(incomplete: str, args: list[str]) -> list[str]:
    """Completions of the override being typed: ``group=choice`` or ``group.key=``, given the ``args`` before it.

    >>> complete_override("callbacks.early_stopping.pa", [])
    ['callbacks.early_stopping.patience=']
    >>> complete_override("model.dep", ["model=resnet"])
    ['model.depth=']
    """
    from dltool.config.compose import HydraArgs
    from dltool.config.validate import TOP_LEVEL_KEYS

    if len(args) >= 2 and args[-1] == "=":  # bash splits words at "=": "model", "=", "re" is model=re
        return [c.partition("=")[2] for c in complete_override(f"{args[-2]}={incomplete}", args[:-2])]
    config_dirs = HydraArgs.parse(args).config_dirs
    try:
        groups = catalog(config_dirs)
    except ConfigError:
        return []
    plus, body = (
        ("+", incomplete[1:]) if incomplete.startswith("+") and not incomplete.startswith("++") else ("", incomplete)
    )
    key, sep, _ = body.partition("=")
    if sep and "." not in key:  # group=choice
        return [f"{plus}{key}={name}" for name in groups.get(key, {}) if f"{key}={name}".startswith(body)]
    candidates: list[str] = []
    chosen = _chosen(args, config_dirs)
    for group in groups:
        candidates.append(f"{group}=")
        schema = _schema(group, chosen.get(group))
        if schema is not None and body.startswith(f"{group}."):
            candidates += _keys(schema, group)
        elif schema is not None:
            candidates.append(f"{group}.")
    candidates += [f"{key}=" for key in TOP_LEVEL_KEYS if key not in groups]
    return [f"{plus}{c}" for c in sorted(set(candidates)) if c.startswith(body)]
