"""Paths that dltool writes to: checked before any work starts, so a bad one costs one line."""

from __future__ import annotations

import os
from pathlib import Path

from dltool.errors import ConfigError


def check_creatable(path: str | Path, key: str, advice: str = "choose another path") -> None:
    """``path`` (a directory, possibly existing, or a file to create, under folders that may not exist yet)
    can be made: the nearest existing one of it and its parents must be a writable directory; otherwise one
    line naming ``key``.

    >>> check_creatable("/proc/version/x", "out")
    Traceback (most recent call last):
    dltool.errors.ConfigError: out=/proc/version/x: cannot be created, /proc/version is a file; choose another path
    """
    existing = Path(path).expanduser().absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{key}={path}: cannot be created, {existing} is a file; {advice}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}={path}: {existing} is not writable; {advice}")
