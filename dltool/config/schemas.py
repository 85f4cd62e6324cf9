"""The registry of every group's schemas: importing this module imports each group's schema module (which
registers the per-option ones, :func:`dltool.config.registry.option`). None of them imports Keras or TensorFlow.

Example:
    >>> SCHEMAS["model"]["mlp"].__name__
    'MLPConfig'
"""

from __future__ import annotations

from dltool.config import logger, model, optimizer  # noqa: F401 -- importing them registers their options
from dltool.config.callbacks import CallbacksConfig
from dltool.config.registry import SCHEMAS
from dltool.config.regularization import RegularizationConfig
from dltool.config.sweep import SweepConfig
from dltool.config.trainer import TrainerConfig

__all__ = ["FIXED_SCHEMAS", "OPTIONAL_SCHEMAS", "SCHEMAS", "SINGLE_SCHEMAS"]

FIXED_SCHEMAS: dict[str, type] = {
    "regularization": RegularizationConfig,
    "callbacks": CallbacksConfig,
    "trainer": TrainerConfig,
}


OPTIONAL_SCHEMAS: dict[str, type] = {"sweep": SweepConfig}

#: The groups of one schema each, fixed or optional.
SINGLE_SCHEMAS: dict[str, type] = {**FIXED_SCHEMAS, **OPTIONAL_SCHEMAS}
