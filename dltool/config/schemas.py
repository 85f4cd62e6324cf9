"""The registry of every group's schemas.

Each group option (``conf/<group>/<option>.yaml``) is validated against the schema
registered under its ``name`` key, so a user's own option file in another config
directory gets the same checks as a built-in one. Field metadata carries the
constraints (``choices``, bounds) and a one-line help text.

Each group's schemas live in their own module of this package (``data``, ``model``, ``optimizer``,
``regularization``, ``callbacks``, ``trainer``, ``logger``, ``sweep``, ``evaluation``).
None of them imports Keras or TensorFlow: validation runs before them.

Example:
    >>> from omegaconf import OmegaConf
    >>> schema_for("model", "mlp").__name__
    'MLPConfig'
"""

from __future__ import annotations

from dltool.config.callbacks import CallbacksConfig
from dltool.config.data import DATA_SCHEMAS
from dltool.config.logger import LOGGERS
from dltool.config.model import MODEL_SCHEMAS
from dltool.config.optimizer import OPTIMIZERS
from dltool.config.regularization import RegularizationConfig
from dltool.config.sweep import SweepConfig
from dltool.config.trainer import TrainerConfig

# ------------------------------------------------------------------------- registry
SCHEMAS: dict[str, dict[str, type]] = {
    "data": DATA_SCHEMAS,
    "model": MODEL_SCHEMAS,
    "optimizer": OPTIMIZERS,
    "logger": LOGGERS,
}

FIXED_SCHEMAS: dict[str, type] = {
    "regularization": RegularizationConfig,
    "callbacks": CallbacksConfig,
    "trainer": TrainerConfig,
}


OPTIONAL_SCHEMAS: dict[str, type] = {"sweep": SweepConfig}


def schema_for(group: str, name: str) -> type:
    """The schema of option ``name`` of ``group`` (raises KeyError if unknown)."""
    return SCHEMAS[group][name]
