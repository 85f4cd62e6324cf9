"""Device selection, distribution strategy, precision and seeding (the only TensorFlow-specific setup).

Example:
    >>> from dltool.config.schemas import TrainerConfig
    >>> info = setup_devices(TrainerConfig(devices="cpu"))  # doctest: +SKIP
    >>> info.device, info.strategy  # doctest: +SKIP
    ('cpu', 'default')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dltool.config.schemas import TrainerConfig
from dltool.errors import ConfigError


@dataclass
class DeviceInfo:
    """What a run actually used; recorded in results.json."""

    device: str  # "cpu", "gpu:0", "gpu:0,1"
    strategy: str  # "default" or "mirrored"
    precision: str
    jit_compile: bool | str
    replicas: int
    strategy_object: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "strategy": self.strategy,
            "precision": self.precision,
            "jit_compile": self.jit_compile,
            "replicas": self.replicas,
        }


def import_tensorflow() -> Any:
    """Import TensorFlow, or say how to install it."""
    try:
        import tensorflow as tf
    except ImportError:
        raise ConfigError(
            "TensorFlow is not installed: pip install 'dltool[cpu]' (or 'dltool[gpu]' for NVIDIA GPUs)"
        ) from None
    return tf


def setup_devices(trainer: TrainerConfig) -> DeviceInfo:
    """Make the chosen GPUs visible, pick the strategy, set precision and seeds.

    Must run before any Keras model or tensor is created.
    """
    tf = import_tensorflow()
    import keras

    gpus = tf.config.list_physical_devices("GPU")
    chosen = _choose_gpus(trainer.devices, len(gpus))
    tf.config.set_visible_devices([gpus[i] for i in chosen], "GPU")

    keras.utils.set_random_seed(trainer.seed)
    if trainer.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.mixed_precision.set_global_policy(trainer.precision)

    if len(chosen) > 1:
        strategy = tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(len(chosen))])
        name = "mirrored"
    else:
        strategy = tf.distribute.get_strategy()
        name = "default"
    device = "gpu:" + ",".join(map(str, chosen)) if chosen else "cpu"
    return DeviceInfo(
        device=device,
        strategy=name,
        precision=trainer.precision,
        jit_compile=trainer.jit_compile,
        replicas=strategy.num_replicas_in_sync,
        strategy_object=strategy,
    )


def _choose_gpus(devices: Any, available: int) -> list[int]:
    if devices == "cpu":
        return []
    if devices == "auto":
        return list(range(available))
    if devices == "gpu":
        if available == 0:
            raise ConfigError(
                "trainer.devices=gpu: no GPU is visible to TensorFlow; use trainer.devices=cpu "
                "(or auto), or install 'dltool[gpu]' on a machine with an NVIDIA GPU"
            )
        return list(range(available))
    missing = [i for i in devices if i >= available]
    if missing:
        raise ConfigError(
            f"trainer.devices={list(devices)}: GPU {missing[0]} does not exist "
            f"({available} visible); use indices below {available} or trainer.devices=cpu"
        )
    return list(devices)
