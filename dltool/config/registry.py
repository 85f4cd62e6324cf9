"""The options of the groups whose every option has a schema of its own: ``data``, ``model``, ``optimizer``, ``logger``.

A schema dataclass registers itself with the :func:`option` decorator, as the option its ``name`` field's
default names (or as each of the names given: one schema may serve several options, e.g. the four
generated 2-D point sets). That one line is the whole registration: validation, ``dltool list``, shell
completion and the model and data builders all read :data:`SCHEMAS`.

Registering an option that has no ``conf/<group>/<name>.yaml`` also stores it in Hydra's ConfigStore
(provider ``dltool``): ``<group>=<name>`` then composes the schema's defaults, with no YAML file. An option
with a built-in file is not stored: Hydra would validate that file against a stored node of the same name
(its deprecated automatic schema matching), which types the node and changes its error messages. A file
of a ``--config-dir`` named like a stored option is merged over the stored defaults (what validation does
with any node), so the file's values win. The stored node is the schema's defaults as plain values, not
the dataclass, so that a bad override of any option gets validation's one-line message, not Hydra's.

Import paths (``module:attribute``) that the schemas name lazily, like a model's builder, are imported
by :func:`resolve` when they are used: nothing here imports Keras or TensorFlow.

Example:
    >>> SCHEMAS["model"]["mlp"].__name__
    'MLPConfig'
    >>> resolve("dltool.config.registry:resolve") is resolve
    True
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from omegaconf import OmegaConf

from dltool.config.compose import builtin_config_dir

#: Each group's options: option name -> schema dataclass, in the order they were registered.
SCHEMAS: dict[str, dict[str, type]] = {"data": {}, "model": {}, "optimizer": {}, "logger": {}}

PROVIDER = "dltool"

Schema = TypeVar("Schema", bound=type)


def option(group: str, *names: str) -> Callable[[Schema], Schema]:
    """Class decorator: register the dataclass as option(s) ``names`` of ``group`` (default: its ``name``)."""

    def register_schema(schema: Schema) -> Schema:
        register(group, schema, *names)
        return schema

    return register_schema


def register(group: str, schema: type, *names: str) -> None:
    """Register ``schema`` as option(s) ``names`` of ``group`` (default: the default of its ``name`` field),
    and store each option without a built-in YAML file in Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    if group not in SCHEMAS:
        raise ValueError(f"group {group!r} has no per-option schemas; groups: {', '.join(SCHEMAS)}")
    default = schema.__dataclass_fields__["name"].default
    names = names or (default,)
    if not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"{schema.__name__}: give its option names, or a default to its name field")
    for name in names:
        SCHEMAS[group][name] = schema
        if not (builtin_config_dir() / group / f"{name}.yaml").is_file():
            ConfigStore.instance().store(group=group, name=name, node=defaults(schema, name), provider=PROVIDER)


def defaults(schema: type, name: str) -> dict[str, Any]:
    """Option ``name`` of ``schema`` as a YAML file of every key would hold it: the defaults, ``name`` first."""
    node = OmegaConf.to_container(OmegaConf.structured(schema))
    return {"name": name, **{key: value for key, value in node.items() if key != "name"}}


def summary(lines: Iterable[str]) -> str:
    """The first paragraph of ``lines`` as one line: its lines stripped and joined, up to a blank line, an
    indented line (an example command), or the end. An option file's comment header (``#`` and one space
    taken off each line) and a schema's docstring are both read by this rule.

    >>> summary(["Adam: momentum + RMSProp", "with bias correction.", "  dltool train optimizer=adam", "more"])
    'Adam: momentum + RMSProp with bias correction.'
    """
    found: list[str] = []
    for line in lines:
        if not line.strip() or line.startswith(" "):
            break
        found.append(line.strip())
    return " ".join(found)


def describe(schema: type) -> str:
    """One line about an option that has no YAML header: the first paragraph of its schema's docstring
    (:func:`summary`), else the help of its ``name`` field."""
    doc = inspect.cleandoc(schema.__doc__ or "")
    if doc and not doc.startswith(f"{schema.__name__}("):  # dataclasses write a signature where no docstring is
        return summary(doc.splitlines())
    return schema.__dataclass_fields__["name"].metadata.get("help", "")


def resolve(path: str) -> Any:
    """The object an import path ``module:attribute`` names (its module imported now)."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)
