"""Schemas of the ``optimizer`` group, and the class each option builds.

A built-in option names its Keras class once, as its schema's ``_target_``; an option file of your own names
any optimizer class with a ``_target_`` key (:class:`TargetOptimizerConfig`; the README's "An optimizer of your
own"), whose own arguments are checked against its signature (:func:`check_arguments`). Nothing here imports Keras.

Example:
    >>> TargetOptimizerConfig.split({"_target_": "keras.optimizers.Lion", "beta_1": 0.95, "learning_rate": 3e-4})
    {'_target_': 'keras.optimizers.Lion', 'learning_rate': 0.0003, 'name': 'lion', 'kwargs': {'beta_1': 0.95}}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config import targets
from dltool.config.fields import opt
from dltool.config.registry import option
from dltool.config.targets import class_arguments


@dataclass
class ScheduleConfig:
    name: str = opt(
        "constant",
        "learning-rate schedule, per epoch (one_cycle: per step, warm-up then cosine)",
        choices=("constant", "step", "exponential", "cosine", "one_cycle"),
    )
    warmup_epochs: int = opt(0, "epochs of linear warm-up from 0 to the learning rate", ge=0)
    step_size: int = opt(10, "step: epochs between two decays", gt=0)
    decay_rate: float = opt(0.1, "step/exponential: factor per step (per epoch for exponential)", gt=0.0, le=1.0)
    min_learning_rate: float = opt(0.0, "cosine, one_cycle: final learning rate (one_cycle: also the first)", ge=0.0)


@dataclass
class OptimizerConfig:
    #: import path of the optimizer class the node builds, as Hydra's ``_target_``
    _target_: ClassVar[str] = ""

    name: str = opt(help="optimizer; see `dltool list optimizer`")
    learning_rate: float = opt(0.001, "initial learning rate", gt=0.0)
    weight_decay: float | None = opt(None, "decoupled weight decay", ge=0.0)
    clipnorm: float | None = opt(None, "clip each gradient to this norm", gt=0.0)
    clipvalue: float | None = opt(None, "clip each gradient value to [-v, v]", gt=0.0)
    global_clipnorm: float | None = opt(None, "clip the global gradient norm", gt=0.0)
    use_ema: bool = opt(False, "keep an exponential moving average of the weights (validated and saved with them)")
    ema_momentum: float = opt(
        0.99, "use_ema: weight of the average's past (new = m * average + (1 - m) * weights)", ge=0.0, le=1.0
    )
    ema_overwrite_frequency: int | None = opt(
        None, "use_ema: steps between copies of the average into the weights (null: never)", gt=0
    )
    schedule: ScheduleConfig = opt(ScheduleConfig(), "learning-rate schedule")


@option("optimizer")
@dataclass
class SGDConfig(OptimizerConfig):
    _target_: ClassVar[str] = "keras.optimizers.SGD"
    name: str = "sgd"
    learning_rate: float = opt(0.01, "initial learning rate", gt=0.0)
    momentum: float = opt(0.0, "momentum (0: plain SGD)", ge=0.0, lt=1.0)
    nesterov: bool = opt(False, "Nesterov momentum")


@option("optimizer")
@dataclass
class AdagradConfig(OptimizerConfig):
    _target_: ClassVar[str] = "keras.optimizers.Adagrad"
    name: str = "adagrad"
    learning_rate: float = opt(0.01, "initial learning rate", gt=0.0)
    initial_accumulator_value: float = opt(0.1, "starting value of the accumulators", ge=0.0)
    epsilon: float = opt(1e-7, "numerical stability term", gt=0.0)


@option("optimizer")
@dataclass
class RMSpropConfig(OptimizerConfig):
    _target_: ClassVar[str] = "keras.optimizers.RMSprop"
    name: str = "rmsprop"
    rho: float = opt(0.9, "decay of the moving average of squared gradients", gt=0.0, lt=1.0)
    momentum: float = opt(0.0, "momentum", ge=0.0, lt=1.0)
    epsilon: float = opt(1e-7, "numerical stability term", gt=0.0)
    centered: bool = opt(False, "normalize by the gradient's variance estimate")


@option("optimizer")
@dataclass
class AdamConfig(OptimizerConfig):
    _target_: ClassVar[str] = "keras.optimizers.Adam"
    name: str = "adam"
    beta_1: float = opt(0.9, "decay of the first-moment estimate", ge=0.0, lt=1.0)
    beta_2: float = opt(0.999, "decay of the second-moment estimate", ge=0.0, lt=1.0)
    epsilon: float = opt(1e-7, "numerical stability term", gt=0.0)
    amsgrad: bool = opt(False, "AMSGrad variant")


@option("optimizer")
@dataclass
class AdamWConfig(AdamConfig):
    _target_: ClassVar[str] = "keras.optimizers.AdamW"
    name: str = "adamw"
    weight_decay: float | None = opt(0.004, "decoupled weight decay", ge=0.0)


@option("optimizer")
@dataclass
class NadamConfig(OptimizerConfig):
    _target_: ClassVar[str] = "keras.optimizers.Nadam"
    name: str = "nadam"
    beta_1: float = opt(0.9, "decay of the first-moment estimate", ge=0.0, lt=1.0)
    beta_2: float = opt(0.999, "decay of the second-moment estimate", ge=0.0, lt=1.0)
    epsilon: float = opt(1e-7, "numerical stability term", gt=0.0)


@dataclass
class TargetOptimizerConfig(OptimizerConfig):
    """Any optimizer class by import path; ``kwargs`` holds its own arguments (the keys not shared above)."""

    _target_: str = opt(help="import path of the optimizer class, e.g. keras.optimizers.Lion")
    name: str = opt("", "label of the option (default: the class name, lower-cased)")
    kwargs: dict[str, Any] = opt({}, "the class's own arguments")

    @classmethod
    def split(cls, node: dict[str, Any]) -> dict[str, Any]:
        """``node`` as this schema holds it: the shared keys as they are, the class's own ones under ``kwargs``."""
        shared = {f.name for f in dataclasses.fields(OptimizerConfig)} | {"_target_"}
        out = {key: value for key, value in node.items() if key in shared}
        out.setdefault("name", str(node["_target_"]).rpartition(".")[2].lower())
        out["kwargs"] = {key: value for key, value in node.items() if key not in shared}
        return out


def optimizer_kwargs(cfg: OptimizerConfig, cls: type) -> dict[str, Any]:
    """The arguments ``cls`` is built with: every key but ``name`` and ``schedule`` (None ones left to ``cls``).

    A ``_target_`` node's shared key that ``cls`` does not take is passed only when set away from its
    default (and then refused by :func:`check_arguments`): a class of your own needs no ``use_ema``.
    """
    own = ("name", "schedule", "_target_", "kwargs")
    given = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in own}
    given = {key: value for key, value in given.items() if value is not None}
    if isinstance(cfg, TargetOptimizerConfig):
        takes = set(class_arguments(cls))
        defaults = {f.name: f.default for f in dataclasses.fields(OptimizerConfig)}
        given = {key: value for key, value in given.items() if key in takes or value != defaults[key]}
        given.update(cfg.kwargs)
    return given


def check_arguments(cfg: TargetOptimizerConfig, cls: type) -> None:
    """One line naming ``optimizer.<key>`` and the arguments of ``cls`` if ``cls`` does not take a key of the node."""
    targets.require_class("optimizer", cfg._target_, cls)
    takes = [name for name in class_arguments(cls) if name != "name"]  # ``name`` is the option's label
    targets.check_arguments("optimizer", cfg._target_, cls, optimizer_kwargs(cfg, cls), takes)
