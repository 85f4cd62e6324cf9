"""The registry of every group's schemas.

Each group option (``conf/<group>/<option>.yaml``, or an option registered in code alone) is validated
against the schema registered under its ``name`` key, so a user's own option file in another config
directory gets the same checks as a built-in one. Field metadata carries the constraints (``choices``,
bounds) and a one-line help text.

Each group's schemas live in their own module of this package (``data``, ``model``, ``optimizer``,
``regularization``, ``callbacks``, ``trainer``, ``logger``, ``sweep``, ``evaluation``); a schema of the
groups with one per option registers itself with :func:`dltool.config.registry.option`, and importing
this module imports them all (and so stores those without a YAML file in Hydra's ConfigStore).
None of them imports Keras or TensorFlow: validation runs before them.

Example:
    >>> from omegaconf import OmegaConf
    >>> schema_for("model", "mlp").__name__
    'MLPConfig'
"""

from __future__ import annotations

from dltool.config import data, logger, model, optimizer  # noqa: F401 -- importing them registers their options
from dltool.config.callbacks import CallbacksConfig
from dltool.config.registry import SCHEMAS
from dltool.config.regularization import RegularizationConfig
from dltool.config.sweep import SweepConfig
from dltool.config.trainer import TrainerConfig

__all__ = ["FIXED_SCHEMAS", "OPTIONAL_SCHEMAS", "SCHEMAS", "schema_for"]

FIXED_SCHEMAS: dict[str, type] = {
    "regularization": RegularizationConfig,
    "callbacks": CallbacksConfig,
    "trainer": TrainerConfig,
}


OPTIONAL_SCHEMAS: dict[str, type] = {"sweep": SweepConfig}


def schema_for(group: str, name: str) -> type:
    """The schema of option ``name`` of ``group`` (raises KeyError if unknown)."""
    return SCHEMAS[group][name]
