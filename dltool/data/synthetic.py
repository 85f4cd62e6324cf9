"""Generated sets with a known rule: the seeds' 1-D function, and random tensors of any shape.

- ``function``: x uniform in [low, high], y = x^3 + x^2 - x - 1 + N(0, noise), shape (1,), regression
  (the curve the seeds approximate by a sum of six ReLUs).
- ``synthetic``: N(0, 1) inputs of ``input_shape``; labels from a fixed random linear projection of
  the flattened input (drawn from the seed): its argmax over ``num_classes`` outputs (multiclass),
  its sign (binary), or its value plus N(0, 0.1) noise (regression), so they are learnable.

Example:
    >>> data = load_synthetic(SyntheticConfig(input_shape=[4, 4, 3], num_classes=5), seed=0)
    >>> data.x_train.shape, data.y_train.dtype.name, data.spec.num_classes
    ((720, 4, 4, 3), 'int32', 5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dltool.config.data import TASKS, SplitDataConfig
from dltool.config.fields import opt
from dltool.config.registry import option
from dltool.data.base import Dataset, DataSpec, Source, make_dataset
from dltool.errors import ConfigError


@option("data")
@dataclass
class FunctionConfig(SplitDataConfig):
    """1-D regression: y = x^3 + x^2 - x - 1 (+ noise) on [low, high]."""

    source: ClassVar[str] = "dltool.data.synthetic:FUNCTION"
    name: str = "function"
    num_samples: int = opt(1000, "number of generated points", gt=3)
    noise: float = opt(0.05, "standard deviation of the Gaussian noise on y", ge=0.0)
    low: float = opt(-2.0, "lower end of the x range")
    high: float = opt(2.0, "upper end of the x range")


@option("data")
@dataclass
class SyntheticConfig(SplitDataConfig):
    """Random inputs of any shape, for smoke tests and benchmarks."""

    source: ClassVar[str] = "dltool.data.synthetic:SYNTHETIC"
    name: str = "synthetic"
    input_shape: list[int] = opt([32, 32, 3], "shape of one example, without the batch axis")
    num_classes: int = opt(10, "number of classes (1 output for binary and regression)", ge=1)
    num_samples: int = opt(1000, "number of generated examples", gt=3)
    task: str = opt("multiclass", "what the labels are", choices=TASKS)


def function_spec(cfg: FunctionConfig) -> DataSpec:
    """One input, one regression output."""
    return DataSpec(input_shape=(1,), task="regression", num_classes=1)


def load_function(cfg: FunctionConfig, seed: int) -> Dataset:
    """``cfg.num_samples`` points of the noisy cubic on [low, high]."""
    if not cfg.low < cfg.high:
        raise ConfigError(f"data.low={cfg.low} must be smaller than data.high={cfg.high}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(cfg.low, cfg.high, size=(cfg.num_samples, 1))
    y = x**3 + x**2 - x - 1 + rng.normal(0.0, cfg.noise, size=x.shape)  # the seeds' target function
    return make_dataset(function_spec(cfg), cfg, seed, x, y)


def synthetic_spec(cfg: SyntheticConfig) -> DataSpec:
    """``cfg.input_shape`` inputs; ``cfg.num_classes`` outputs for multiclass, 1 otherwise."""
    shape = tuple(int(d) for d in cfg.input_shape)
    if not shape or min(shape) < 1:
        raise ConfigError(f"data.input_shape={list(shape)}: must be a non-empty list of positive sizes")
    if cfg.task == "multiclass":
        return DataSpec(shape, "multiclass", cfg.num_classes, tuple(str(i) for i in range(cfg.num_classes)))
    if cfg.task == "binary":
        return DataSpec(shape, "binary", 1, ("0", "1"))
    return DataSpec(shape, "regression", 1)


def load_synthetic(cfg: SyntheticConfig, seed: int) -> Dataset:
    """Random normal inputs labelled by a random linear rule (see the module docstring)."""
    spec = synthetic_spec(cfg)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cfg.num_samples, *spec.input_shape), dtype=np.float32)
    features = math.prod(spec.input_shape)
    outputs = cfg.num_classes if spec.task == "multiclass" else 1
    projection = rng.standard_normal((features, outputs), dtype=np.float32) / np.float32(math.sqrt(features))
    z = x.reshape(len(x), -1) @ projection
    if spec.task == "multiclass":
        y = z.argmax(axis=1)
    elif spec.task == "binary":
        y = (z[:, 0] > 0).astype(int)
    else:
        y = z + rng.normal(0.0, 0.1, size=z.shape)
    return make_dataset(spec, cfg, seed, x, y)


FUNCTION = Source(function_spec, load_function)
SYNTHETIC = Source(synthetic_spec, load_synthetic)
