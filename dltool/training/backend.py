"""Which Keras backend this process runs, chosen before Keras is first imported.

Keras reads ``KERAS_BACKEND`` once, at import, and JAX reads ``JAX_PLATFORMS`` once: so the choice is
made as soon as the trainer config is known, before anything (a user's ``_target_`` included) can
import Keras.

Example:
    >>> from dltool.config.trainer import TrainerConfig
    >>> backend_environment(TrainerConfig(backend="jax", devices="cpu"))
    {'KERAS_BACKEND': 'jax', 'JAX_PLATFORMS': 'cpu'}
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import TYPE_CHECKING

from dltool.config.trainer import TrainerConfig
from dltool.config.validate import check_imports, imports_something
from dltool.errors import ConfigError

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from dltool.config import RunConfig

INSTALL_HINT = {
    "tensorflow": "pip install 'dltool[cpu]' (or 'dltool[gpu]' for NVIDIA GPUs)",
    "jax": "pip install jax (or 'jax[cuda13]' for NVIDIA GPUs)",
    "torch": "pip install torch",
}


def backend_environment(trainer: TrainerConfig) -> dict[str, str]:
    """Environment variables that point Keras, and JAX or PyTorch, at the configured backend and devices.

    TensorFlow hides unwanted GPUs itself (``dltool.training.devices``); JAX and PyTorch need
    ``JAX_PLATFORMS``/``CUDA_VISIBLE_DEVICES`` before they load.
    """
    env = {"KERAS_BACKEND": trainer.backend}
    if trainer.backend == "tensorflow":
        return env
    if trainer.devices == "cpu":
        env.update({"JAX_PLATFORMS": "cpu"} if trainer.backend == "jax" else {"CUDA_VISIBLE_DEVICES": ""})
    elif isinstance(trainer.devices, list):
        env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, trainer.devices))
    return env


def check_run_imports(cfg: DictConfig, run: RunConfig) -> None:
    """Point Keras at the run's backend, then import and check what the config's ``_target_`` keys name
    (:func:`dltool.config.validate.check_imports`): a user's module may import Keras."""
    if imports_something(cfg, run):  # else Keras' backend is chosen where training starts (devices.setup_devices)
        select_backend(run.trainer)
        check_imports(cfg, run)


def select_backend(trainer: TrainerConfig) -> None:
    """Set the backend's environment, or check that an already-loaded Keras runs on it."""
    wanted = trainer.backend
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != wanted:
            raise ConfigError(
                f"trainer.backend={wanted}: this process already runs Keras on "
                f"{keras.backend.backend()}; start a new process (the dltool command does)"
            )
        return
    if importlib.util.find_spec(wanted) is None:
        raise ConfigError(f"trainer.backend={wanted}: {wanted} is not installed; {INSTALL_HINT[wanted]}")
    os.environ.update(backend_environment(trainer))
