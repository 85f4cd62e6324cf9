"""Optimizers and per-epoch learning-rate schedules from the ``optimizer`` config node.

The schema's fields are the Keras constructor's arguments, so building one is a lookup.

Example:
    >>> from dltool.config.schemas import SGDConfig
    >>> opt = build_optimizer(SGDConfig(learning_rate=0.1, momentum=0.9, nesterov=True))  # doctest: +SKIP
    >>> epoch_learning_rate(SGDConfig(learning_rate=0.1), epoch=5)
    0.1
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from dltool.config.schemas import OptimizerConfig

KERAS_CLASSES = {
    "sgd": "SGD",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "nadam": "Nadam",
}


def build_optimizer(cfg: OptimizerConfig) -> Any:
    """A ``keras.optimizers`` instance with the config's arguments (None ones left to Keras)."""
    import keras

    kwargs = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in ("name", "schedule")}
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    return getattr(keras.optimizers, KERAS_CLASSES[cfg.name])(**kwargs)


def has_schedule(cfg: OptimizerConfig) -> bool:
    return cfg.schedule.name != "constant" or cfg.schedule.warmup_epochs > 0


def epoch_learning_rate(cfg: OptimizerConfig, epoch: int, total_epochs: int = 1) -> float:
    """The learning rate of ``epoch`` (0-based): linear warm-up, then the schedule."""
    base, s = cfg.learning_rate, cfg.schedule
    if epoch < s.warmup_epochs:
        return base * (epoch + 1) / (s.warmup_epochs + 1)
    t = epoch - s.warmup_epochs
    if s.name == "step":
        return base * s.decay_rate ** (t // s.step_size)
    if s.name == "exponential":
        return base * s.decay_rate**t
    if s.name == "cosine":
        span = max(1, total_epochs - s.warmup_epochs - 1)
        return s.min_learning_rate + 0.5 * (base - s.min_learning_rate) * (1 + math.cos(math.pi * min(t, span) / span))
    return base
