"""Schema of the ``trainer`` group: epochs, batches, seeds, backend, devices, precision, losses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dltool.config.fields import opt

BACKENDS = ("tensorflow", "jax", "torch")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


@dataclass
class TrainerConfig:
    epochs: int = opt(30, "number of epochs", ge=0)
    batch_size: int = opt(32, "examples per step, all replicas together (each replica: batch_size / replicas)", gt=0)
    seed: int = opt(42, "seed of weights, shuffling and splits", ge=0)
    deterministic: bool = opt(False, "deterministic kernels (slower; bit-for-bit reruns on CPU)")
    backend: str = opt("tensorflow", "Keras backend (jax is the fast one on GPUs)", choices=BACKENDS)
    devices: Any = opt("auto", "auto | cpu | gpu | list of GPU indices")
    # Distribution (TensorFlow backend): batch_size is the global batch, split evenly over the replicas
    # (all devices of all workers); the run directory is written once, by the chief worker.
    strategy: str = opt(
        "auto",
        "auto (mirrored on several GPUs) | default | mirrored | multi_worker (TF_CONFIG or SLURM)",
        choices=STRATEGIES,
    )
    precision: str = opt(
        "float32",
        "dtype policy (auto: mixed_bfloat16 on GPUs of compute capability >= 8.0, mixed_float16 on older, CPU float32)",
        choices=PRECISIONS,
    )
    jit_compile: Any = opt("auto", "XLA compilation", choices=("auto", True, False))
    steps_per_execution: int = opt(1, "steps run per call into the compiled function", gt=0)
    loss: str = opt("auto", "Keras loss name (auto: from the task)")
    metrics: list[str] = opt(["auto"], "Keras metric names (auto: accuracy, or mae for regression)")
