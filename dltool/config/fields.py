"""``opt``: the dataclass field of every schema, with its help text and constraints (read by validation)."""

from __future__ import annotations

from dataclasses import MISSING, field
from typing import Any


def opt(default: Any = MISSING, help: str = "", **constraints: Any) -> Any:
    """A dataclass field with a help text and constraints (choices, ge, gt, le, lt).

    Mutable defaults (lists, dicts, dataclasses) are wrapped in a factory.
    """
    metadata = {"help": help, **constraints}
    if isinstance(default, list | dict) or hasattr(default, "__dataclass_fields__"):
        value = default
        return field(default_factory=lambda: _copy(value), metadata=metadata)
    return field(default=default, metadata=metadata)


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)
