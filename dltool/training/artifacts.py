"""Files of the run directory that are not written by callbacks: results.json, summaries, figures."""

from __future__ import annotations

import contextlib
import json
import os
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dltool import __version__
from dltool.faults import fault_point


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically: to a temporary file beside ``path``, then rename over it."""
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically, as :func:`write_bytes` does."""
    write_bytes(path, text.encode())


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` atomically: to a hidden temporary file beside ``path``, flushed to disk, then renamed over it.

    A run killed at any moment leaves the previous file or the new one, never a truncated one. A failed
    write (a full disk) removes the temporary file, leaves ``path`` as it was, and raises an OSError that
    names ``path``. The data is complete in memory first, so no library (HDF5) meets the full disk in its
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


def versions() -> dict[str, str]:
    """Versions of Python, TensorFlow, Keras and dltool, for results.json."""
    import keras

    found = {"python": platform.python_version(), "keras": keras.__version__, "dltool": __version__}
    try:
        import tensorflow as tf

        found["tensorflow"] = tf.__version__
    except ImportError:
        pass
    return found


def model_summary_text(model: Any) -> str:
    """``model.summary()`` as plain text (for model_summary.txt and ``dltool show``)."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, line_break=True: lines.append(line), line_length=100)
    return "\n".join(lines) + "\n"
