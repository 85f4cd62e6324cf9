"""The options of the groups whose every option has a schema of its own: ``data``, ``model``, ``optimizer``, ``logger``.

A schema dataclass registers itself with the :func:`option` decorator; validation, ``dltool list``, shell
completion and the model and data builders all read :data:`SCHEMAS`.

An option without a ``conf/<group>/<name>.yaml`` is also stored in Hydra's ConfigStore, as its defaults in
plain values (not the dataclass: a bad override gets validation's one-line message, not Hydra's). One with a
built-in file is not: Hydra would validate the file against a stored node of its name (deprecated automatic
schema matching), which types the node and changes its error messages.

The import paths (``module:attribute``) the schemas name are imported by :func:`resolve` when used: nothing
here imports Keras or TensorFlow.

A model is one module of ``dltool.models``, its schema beside its builder: the first read of ``SCHEMAS["model"]``
imports the modules of that package by name (:func:`discover`), which registers their schemas; no static
import runs from the config up to the models.

Example:
    >>> SCHEMAS["model"]["mlp"].__name__
    'MLPConfig'
    >>> resolve("dltool.config.registry:resolve") is resolve
    True
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import OmegaConf


class Discovered(MutableMapping[str, type]):
    """The options of a group whose schemas live in the modules of ``package``: every module is imported
    (:func:`discover`) before the first read; registering one does not import them."""

    def __init__(self, package: str) -> None:
        self.package, self.options, self.discovered = package, {}, False

    def _read(self) -> dict[str, type]:
        if not self.discovered:
            self.discovered = True  # first: a module reading the group while imported sees what is registered
            rank = {module: i for i, module in enumerate(discover(self.package))}
            # in the order of the modules, whichever was imported first (the schemas of one module: as defined)
            ordered = sorted(self.options.items(), key=lambda item: rank.get(item[1].__module__, len(rank)))
            self.options = dict(ordered)
        return self.options

    def __getitem__(self, name: str) -> type:
        return self._read()[name]

    def __setitem__(self, name: str, schema: type) -> None:
        self.options[name] = schema

    def __delitem__(self, name: str) -> None:
        del self._read()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._read()!r})"


#: Each group's options: option name -> schema dataclass, in the order they were registered.
SCHEMAS: dict[str, MutableMapping[str, type]] = {
    "data": Discovered("dltool.data"),
    "model": Discovered("dltool.models"),
    "optimizer": {},
    "logger": {},
}

PROVIDER = "dltool"


def builtin_config_dir() -> Path:
    """``conf/`` shipped inside the wheel (``dltool/conf``), or the checkout's top-level ``conf/``."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "conf"
    return packaged if packaged.is_dir() else package.parent / "conf"


Schema = TypeVar("Schema", bound=type)


def option(group: str, *names: str) -> Callable[[Schema], Schema]:
    """Class decorator: register the dataclass as option(s) ``names`` of ``group`` (default: its ``name``)."""

    def register_schema(schema: Schema) -> Schema:
        register(group, schema, *names)
        return schema

    return register_schema


def register(group: str, schema: type, *names: str) -> None:
    """Register ``schema`` as option(s) ``names`` of ``group`` (default: its ``name`` field's default)."""
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
    """The first paragraph of ``lines`` (an option file's comment header, a schema's docstring) as one line:
    its lines stripped and joined, up to a blank line, an indented line (an example command), or the end.

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
    """The first paragraph of an option's schema docstring (:func:`summary`), else its ``name`` field's help."""
    doc = inspect.cleandoc(schema.__doc__ or "")
    if doc and not doc.startswith(f"{schema.__name__}("):  # dataclasses write a signature where no docstring is
        return summary(doc.splitlines())
    return schema.__dataclass_fields__["name"].metadata.get("help", "")


def register_all() -> None:
    """Every option of every group registered (in :data:`SCHEMAS` and Hydra's ConfigStore): Hydra composes
    from them, so composing calls it first."""
    for options in SCHEMAS.values():
        len(options)  # a discovered group imports its modules on its first read


def discover(package: str) -> list[str]:
    """Import the modules of ``package`` by name, which registers the schemas they define, and return their
    names: first those its ``ORDER`` names (the order of the registry, hence of messages listing the options),
    then the others by name, skipping its ``KERAS_MODULES`` (Keras layers, imported by the builders when they run)."""
    found = importlib.import_module(package)
    order, keras_modules = list(getattr(found, "ORDER", ())), set(getattr(found, "KERAS_MODULES", ()))
    names = sorted(m.name for m in pkgutil.iter_modules(found.__path__) if m.name not in keras_modules)
    names.sort(key=lambda name: order.index(name) if name in order else len(order))
    modules = [f"{package}.{name}" for name in names]
    for module in modules:
        importlib.import_module(module)
    return modules


def resolve(path: str) -> Any:
    """The object an import path ``module:attribute`` names (its module imported now)."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)
