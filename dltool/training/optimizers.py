"""Optimizers and learning-rate schedules from the ``optimizer`` config node.

The node's ``_target_`` names the class and its fields are the class's arguments, so building one is
Hydra's ``instantiate``; schedules, warm-up and EMA need only ``learning_rate`` and ``use_ema``, which every
Keras optimizer takes. ``one_cycle`` changes the rate at every step inside the optimizer
(:func:`step_schedule`), which short runs need and which resumes from the optimizer's step count; the other
schedules set it at each epoch's start (:func:`epoch_learning_rate`, through a ``LearningRateScheduler``).

Example:
    >>> from dltool.config.optimizer import SGDConfig
    >>> opt = build_optimizer(SGDConfig(learning_rate=0.1, momentum=0.9, nesterov=True))  # doctest: +SKIP
    >>> epoch_learning_rate(SGDConfig(learning_rate=0.1), epoch=5)
    0.1
"""

from __future__ import annotations

import math
from typing import Any

from dltool.config.optimizer import OptimizerConfig, optimizer_kwargs


def build_optimizer(cfg: OptimizerConfig, steps_per_epoch: int | None = None, epochs: int | None = None) -> Any:
    """The optimizer class the node names, built with the node's arguments (None ones left to the class).

    ``steps_per_epoch`` and ``epochs`` are needed by a per-step schedule (``one_cycle``) only.
    """
    from hydra.utils import get_object, instantiate

    kwargs = optimizer_kwargs(cfg, get_object(cfg._target_))
    if cfg.schedule.name == "one_cycle":
        if steps_per_epoch is None or epochs is None:
            raise ValueError("optimizer.schedule one_cycle needs steps_per_epoch and epochs")
        kwargs["learning_rate"] = step_schedule(cfg, steps_per_epoch, epochs)
    return instantiate({"_target_": cfg._target_, "_convert_": "all"}, **kwargs)


def has_schedule(cfg: OptimizerConfig) -> bool:
    """Whether the rate changes from epoch to epoch (set by a callback); ``one_cycle`` lives in the optimizer."""
    return cfg.schedule.name != "one_cycle" and (cfg.schedule.name != "constant" or cfg.schedule.warmup_epochs > 0)


def step_schedule(cfg: OptimizerConfig, steps_per_epoch: int, epochs: int) -> Any:
    """``one_cycle``: from ``min_learning_rate`` linearly up to ``learning_rate`` over ``warmup_epochs``,
    then a cosine down to ``min_learning_rate`` at the last step; changed at every step.

    Example:
        >>> from dltool.config.optimizer import SGDConfig, ScheduleConfig
        >>> cfg = SGDConfig(learning_rate=0.1, schedule=ScheduleConfig(name="one_cycle", warmup_epochs=1))
        >>> schedule = step_schedule(cfg, steps_per_epoch=10, epochs=3)
        >>> [round(float(schedule(step)), 3) for step in (0, 5, 10, 20, 30)]
        [0.0, 0.05, 0.1, 0.05, 0.0]
    """
    import keras

    s, peak = cfg.schedule, cfg.learning_rate
    warmup = s.warmup_epochs * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=s.min_learning_rate if warmup else peak,
        decay_steps=max(1, epochs * steps_per_epoch - warmup),
        alpha=s.min_learning_rate / peak,
        warmup_target=peak if warmup else None,
        warmup_steps=warmup,
    )


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
