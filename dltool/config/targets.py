"""The arguments a ``_target_`` class takes, and the one line that names a key it does not take.

Shared by every node built with Hydra's ``instantiate`` from an import path (``optimizer``,
``sweep.sampler``), so a typo is refused before anything runs, with the class's real arguments.

Example:
    >>> class Sampler:
    ...     def __init__(self, *, seed=None, scramble=False): ...
    >>> class_arguments(Sampler)
    ['seed', 'scramble']
    >>> check_arguments("sweep.sampler", "my.Sampler", Sampler, ["sed"])  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: unknown key 'sweep.sampler.sed' (did you mean seed?): my.Sampler takes seed, scramble
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from dltool.errors import ConfigError, did_you_mean


def class_arguments(cls: type) -> list[str]:
    """The keyword arguments ``cls(...)`` takes: its ``__init__``'s named ones, and its parents' while it
    passes ``**kwargs`` on (as every Keras optimizer does to ``keras.optimizers.Optimizer``)."""
    names: list[str] = []
    for klass in cls.__mro__[:-1]:  # object's own __init__ takes nothing
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(vars(klass)["__init__"]).parameters.values()
        named = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        names += [name for name in named if name != "self" and name not in names]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def require_class(key: str, target: str, found: Any) -> type:
    """``found`` (what ``<key>._target_`` imports) if it is a class; else one line saying what it is.

    >>> require_class("optimizer", "os.getcwd", __import__("os").getcwd)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: optimizer._target_=os.getcwd: names a builtin_function_or_method, not a class
    """
    if not inspect.isclass(found):
        raise ConfigError(f"{key}._target_={target}: names a {type(found).__name__}, not a class")
    return found


def check_arguments(key: str, target: str, cls: type, given: Iterable[str], takes: list[str] | None = None) -> None:
    """One line naming ``<key>.<argument>`` and what ``cls`` takes, for the first given argument it does not take."""
    takes = class_arguments(cls) if takes is None else takes
    for name in given:
        if name not in takes:
            raise ConfigError(
                f"unknown key '{key}.{name}'{did_you_mean(name, takes)}: {target} takes {', '.join(takes)}"
            )
