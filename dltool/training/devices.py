"""Device selection, distribution, precision and seeding, on the configured Keras backend.

TensorFlow is imported only when it is the backend.

Example:
    >>> from dltool.config.trainer import TrainerConfig
    >>> info = setup_devices(TrainerConfig(devices="cpu"))  # doctest: +SKIP
    >>> info.device, info.strategy  # doctest: +SKIP
    ('cpu', 'default')
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields
from typing import Any

from dltool.config.trainer import TrainerConfig
from dltool.errors import ConfigError
from dltool.training.backend import select_backend


@dataclass
class DeviceInfo:
    """What a run actually used; recorded in results.json."""

    backend: str
    device: str  # "cpu", "gpu:0", "gpu:0,1"
    strategy: str  # "default", "mirrored", "multi_worker" (TensorFlow) or "data_parallel" (JAX)
    precision: str  # the dtype policy used (trainer.precision=auto resolved)
    replicas: int
    strategy_object: Any = None

    def scope(self) -> Any:
        """Where to build the model: the TensorFlow strategy's scope, or nothing to enter."""
        return self.strategy_object.scope() if self.strategy_object is not None else contextlib.nullcontext()

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "strategy_object"}


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
    keras.mixed_precision.set_global_policy(info.precision)
    return info


def resolve_precision(precision: str, capabilities: list[tuple[int, int]]) -> str:
    """The dtype policy for ``trainer.precision`` on GPUs of these compute capabilities (none: CPU).

    ``auto`` takes bfloat16 where the GPU computes it natively (compute capability 8.0, Ampere, and
    later), float16 with loss scaling on older GPUs (Keras' ``compile`` wraps the optimizer in a
    ``LossScaleOptimizer`` under ``mixed_float16``), and float32 on the CPU.

    >>> resolve_precision("auto", [(9, 0)]), resolve_precision("auto", [(7, 0)]), resolve_precision("auto", [])
    ('mixed_bfloat16', 'mixed_float16', 'float32')
    >>> resolve_precision("mixed_float16", [])
    'mixed_float16'
    """
    if precision != "auto":
        return precision
    if not capabilities:
        return "float32"
    return "mixed_bfloat16" if min(capabilities) >= (8, 0) else "mixed_float16"


def _tensorflow_devices(trainer: TrainerConfig) -> DeviceInfo:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    chosen = _choose_gpus(trainer.devices, len(gpus))
    tf.config.set_visible_devices([gpus[i] for i in chosen], "GPU")
    if trainer.deterministic:
        tf.config.experimental.enable_op_determinism()
    name = _strategy_name(trainer, len(chosen))
    if name == "multi_worker":
        from dltool.training.multi_worker import multi_worker_strategy

        strategy = multi_worker_strategy()
    elif name == "mirrored":
        strategy = tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(len(chosen))] or ["/cpu:0"])
    else:
        strategy = tf.distribute.get_strategy()
    capabilities = [tf.config.experimental.get_device_details(gpus[i])["compute_capability"] for i in chosen]
    precision = resolve_precision(trainer.precision, capabilities)
    return DeviceInfo("tensorflow", _device_name(chosen), name, precision, strategy.num_replicas_in_sync, strategy)


def _strategy_name(trainer: TrainerConfig, gpus: int) -> str:
    """``trainer.strategy`` made concrete: auto mirrors over several GPUs; the others are TensorFlow's."""
    if trainer.strategy == "auto":
        return "mirrored" if gpus > 1 else "default"
    if trainer.backend != "tensorflow":
        raise ConfigError(
            f"trainer.strategy={trainer.strategy}: a TensorFlow strategy, not for trainer.backend={trainer.backend}; "
            "use trainer.strategy=auto (data parallel over the chosen GPUs) or trainer.backend=tensorflow"
        )
    if trainer.strategy == "default" and gpus > 1:
        raise ConfigError(
            f"trainer.strategy=default trains on one device, not trainer.devices={trainer.devices}; "
            "use trainer.strategy=mirrored (or auto), or one GPU (trainer.devices=[0])"
        )
    return trainer.strategy


def _jax_devices(trainer: TrainerConfig) -> DeviceInfo:
    import jax
    import keras

    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    chosen = _visible_choice(trainer.devices, len(gpus))
    _strategy_name(trainer, len(chosen))
    precision = resolve_precision(
        trainer.precision, [tuple(map(int, gpus[i].compute_capability.split("."))) for i in chosen]
    )
    if len(chosen) > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=[gpus[i] for i in chosen]))
        return DeviceInfo("jax", _device_name(chosen, trainer.devices), "data_parallel", precision, len(chosen))
    return DeviceInfo("jax", _device_name(chosen, trainer.devices), "default", precision, 1)


def _torch_devices(trainer: TrainerConfig) -> DeviceInfo:
    import torch

    chosen = _visible_choice(trainer.devices, torch.cuda.device_count())
    _strategy_name(trainer, 1)
    if len(chosen) > 1:
        raise ConfigError(
            f"trainer.devices={trainer.devices}: the torch backend trains on one device here; "
            "use trainer.backend=jax or tensorflow for several GPUs"
        )
    if trainer.deterministic:
        torch.use_deterministic_algorithms(True)
    precision = resolve_precision(trainer.precision, [torch.cuda.get_device_capability(i) for i in chosen])
    return DeviceInfo("torch", _device_name(chosen, trainer.devices), "default", precision, 1)


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
    if devices in ("auto", "gpu"):
        if devices == "gpu" and available == 0:
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
