"""Device selection, distribution, precision and seeding, on the configured Keras backend.

TensorFlow is imported only when it is the backend.

Example:
    >>> from dltool.config.schemas import TrainerConfig
    >>> info = setup_devices(TrainerConfig(devices="cpu"))  # doctest: +SKIP
    >>> info.device, info.strategy  # doctest: +SKIP
    ('cpu', 'default')
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from dltool.backend import select_backend
from dltool.config.schemas import TrainerConfig
from dltool.errors import ConfigError


@dataclass
class DeviceInfo:
    """What a run actually used; recorded in results.json."""

    backend: str
    device: str  # "cpu", "gpu:0", "gpu:0,1"
    strategy: str  # "default", "mirrored" (TensorFlow) or "data_parallel" (JAX)
    precision: str
    replicas: int
    strategy_object: Any = None

    def scope(self) -> Any:
        """Where to build the model: the TensorFlow strategy's scope, or nothing to enter."""
        return self.strategy_object.scope() if self.strategy_object is not None else contextlib.nullcontext()

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "device": self.device,
            "strategy": self.strategy,
            "precision": self.precision,
            "replicas": self.replicas,
        }


def setup_devices(trainer: TrainerConfig) -> DeviceInfo:
    """Select the backend and devices, the distribution, precision and seeds.

    Must run before any Keras model or tensor is created.
    """
    select_backend(trainer)
    import keras

    if trainer.backend == "tensorflow":
        info = _tensorflow_devices(trainer)
    elif trainer.backend == "jax":
        info = _jax_devices(trainer)
    else:
        info = _torch_devices(trainer)
    keras.utils.set_random_seed(trainer.seed)
    keras.mixed_precision.set_global_policy(trainer.precision)
    return info


def _tensorflow_devices(trainer: TrainerConfig) -> DeviceInfo:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    chosen = _choose_gpus(trainer.devices, len(gpus))
    tf.config.set_visible_devices([gpus[i] for i in chosen], "GPU")
    if trainer.deterministic:
        tf.config.experimental.enable_op_determinism()
    if len(chosen) > 1:
        strategy, name = tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(len(chosen))]), "mirrored"
    else:
        strategy, name = tf.distribute.get_strategy(), "default"
    return DeviceInfo(
        "tensorflow", _device_name(chosen), name, trainer.precision, strategy.num_replicas_in_sync, strategy
    )


def _jax_devices(trainer: TrainerConfig) -> DeviceInfo:
    import jax
    import keras

    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    chosen = _visible_choice(trainer.devices, len(gpus))
    if len(chosen) > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=[gpus[i] for i in chosen]))
        return DeviceInfo("jax", _device_name(chosen, trainer.devices), "data_parallel", trainer.precision, len(chosen))
    return DeviceInfo("jax", _device_name(chosen, trainer.devices), "default", trainer.precision, 1)


def _torch_devices(trainer: TrainerConfig) -> DeviceInfo:
    import torch

    chosen = _visible_choice(trainer.devices, torch.cuda.device_count())
    if len(chosen) > 1:
        raise ConfigError(
            f"trainer.devices={trainer.devices}: the torch backend trains on one device here; "
            "use trainer.backend=jax or tensorflow for several GPUs"
        )
    if trainer.deterministic:
        torch.use_deterministic_algorithms(True)
    return DeviceInfo("torch", _device_name(chosen, trainer.devices), "default", trainer.precision, 1)


def _visible_choice(devices: Any, available: int) -> list[int]:
    """GPU choice for JAX/PyTorch, where an index list was already applied as CUDA_VISIBLE_DEVICES."""
    if isinstance(devices, list):
        if available < len(devices):
            raise ConfigError(
                f"trainer.devices={list(devices)}: only {available} of these GPUs exist; "
                "use existing indices or trainer.devices=cpu"
            )
        return list(range(len(devices)))
    return _choose_gpus(devices, available)


def _device_name(chosen: list[int], requested: Any = None) -> str:
    indices = requested if isinstance(requested, list) else chosen
    return "gpu:" + ",".join(map(str, indices)) if chosen else "cpu"


def _choose_gpus(devices: Any, available: int) -> list[int]:
    if devices == "cpu":
        return []
    if devices == "auto":
        return list(range(available))
    if devices == "gpu":
        if available == 0:
            raise ConfigError(
                "trainer.devices=gpu: no GPU is visible to the Keras backend; use trainer.devices=cpu "
                "(or auto), or install a GPU build on a machine with an NVIDIA GPU"
            )
        return list(range(available))
    missing = [i for i in devices if i >= available]
    if missing:
        raise ConfigError(
            f"trainer.devices={list(devices)}: GPU {missing[0]} does not exist "
            f"({available} visible); use indices below {available} or trainer.devices=cpu"
        )
    return list(devices)
