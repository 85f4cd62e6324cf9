"""What a run records about itself beside its files: library versions, the model's summary as text."""

from __future__ import annotations

import platform
from typing import Any

from dltool import __version__


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
