"""Paths that dltool writes to, and how it writes there.

Paths are checked before any work starts, so a bad one costs one line; files are written atomically (a
temporary file beside the target, flushed, renamed over it), so a run killed at any moment leaves the previous
file or the new one, never a truncated one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dltool.errors import ConfigError
from dltool.faults import fault_point


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


def read_results(run_dir: Path) -> dict[str, Any]:
    """A run directory's ``results.json``; empty when it has none or it cannot be read (a JSON object is expected).

    >>> read_results(Path("/nonexistent"))
    {}
    """
    try:
        results = json.loads((run_dir / "results.json").read_text())
    except (OSError, ValueError):
        return {}
    return results if isinstance(results, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically: to a temporary file beside ``path``, then rename over it."""
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically, as :func:`write_bytes` does."""
    write_bytes(path, text.encode())


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` atomically: to a hidden temporary file beside ``path``, flushed to disk, then renamed over it.

    A failed write (a full disk) removes the temporary file, leaves ``path`` as it was, and raises an OSError
    that names ``path``. The data is complete in memory first, so no library (HDF5) meets the full disk in its
    own code.
    """
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        fault_point(path.name)
        os.replace(tmp, path)
        sync_file(path.parent)  # the rename is durable once its folder is
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if err.filename in (None, str(tmp)):  # a failed write() names no file; the message names the real one
            err.filename = str(path)
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def naming(path: Path | str) -> Iterator[None]:
    """Name ``path`` in an OSError raised without a file name: a failed ``write()`` (a full disk) names none,
    and the one line a run ends with must say which file could not be written."""
    try:
        yield
    except OSError as err:
        if err.filename is None:
            err.filename = str(path)
        raise


def sync_file(path: Path) -> None:
    """``fsync`` a file or a folder (a rename is durable once its folder is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
