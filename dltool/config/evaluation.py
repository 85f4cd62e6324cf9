"""Schemas of the after-training commands' own keys (``dltool evaluate``, ``dltool export``); not in ``conf/``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dltool.config.fields import opt


@dataclass
class EnsembleConfig:
    weights: Any = opt("equal", "member weights: equal, auto (fitted on the validation split) or a list [w1, w2, ...]")


@dataclass
class EvaluateConfig:
    """``dltool evaluate``'s own keys, given on its command line beside the run's overrides."""

    split: str = opt("test", "split scored (data.split=... is accepted too)", choices=("test", "val", "train"))
    worst: int = opt(16, "worst-classified examples drawn in worst_examples.png (images)", ge=0)
    ensemble: EnsembleConfig = opt(EnsembleConfig(), "how several runs are combined")


@dataclass
class ExportConfig:
    """``dltool export``'s keys."""

    format: str = opt("savedmodel", "what to write", choices=("savedmodel", "keras", "tflite", "onnx"))
    out: str | None = opt(None, "where to write it (null: <run>/export/<format file>)")
    samples: int = opt(64, "random inputs on which the export is checked against the checkpoint", gt=0)
    allowed_targets: list[str] | None = opt(None, "import-path prefixes the run's config may name (null: any)")
