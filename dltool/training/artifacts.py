"""Files of the run directory that are not written by callbacks: results.json, summaries, figures."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from dltool import __version__


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically: to a temporary file beside ``path``, then rename over it."""
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_text(path: Path, text: str) -> None:
    """Write ``text`` atomically: to a temporary file beside ``path``, flushed to disk, then renamed over it.

    A failed write (a full disk) removes the temporary file and leaves ``path`` as it was.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
