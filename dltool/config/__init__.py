"""Configuration: typed schemas, validation, and composition of the Hydra config tree."""

from dltool.config.compose import (
    HydraArgs,
    compose,
    expand_aliases,
    expand_sweeps,
    register_resolvers,
)
from dltool.config.registry import builtin_config_dir
from dltool.config.validate import RunConfig, validate, validate_sweep

__all__ = [
    "HydraArgs",
    "RunConfig",
    "builtin_config_dir",
    "compose",
    "expand_aliases",
    "expand_sweeps",
    "register_resolvers",
    "validate",
    "validate_sweep",
]
