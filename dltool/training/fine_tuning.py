"""The training schemes of ``model=transfer``: feature extraction and two-phase fine-tuning (docs/models.md).

Feature extraction trains only the head (the layers after ``features``, sharing their weights with the
full model) on the frozen backbone's features, computed once. Two-phase fine-tuning trains the head for
``fine_tune.head_epochs`` epochs, then unfreezes the backbone's top layers and recompiles; the epochs are
numbered on (metrics.csv continues).

Example:
    >>> head, features_s = extract_features(model, data, batch_size=256)  # doctest: +SKIP
    >>> start_phase_two(model, run, spec, callbacks, first_epoch=3, steps_per_epoch=45)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import keras
import numpy as np

from dltool.config import RunConfig
from dltool.errors import ConfigError
from dltool.models.transfer import unfreeze_top
from dltool.training.batches import feed
from dltool.training.build import compile_model
from dltool.training.optimizers import epoch_learning_rate

log = logging.getLogger("dltool")


def check_scheme(run: RunConfig) -> None:
    """ConfigError for combinations that cannot train: feature extraction needs a frozen backbone and
    one phase, phase 2 needs epochs, and neither scheme resumes from a backup."""
    cfg = run.model
    if cfg.feature_extraction and (str(cfg.freeze) != "all" or cfg.fine_tune.head_epochs):
        raise ConfigError(
            "model.feature_extraction=true trains the head on features of the frozen backbone: "
            "it needs model.freeze=all and model.fine_tune.head_epochs=0"
        )
    if run.resume and (cfg.feature_extraction or cfg.fine_tune.head_epochs):
        # the backup holds the weights of the model trained last (the head, or phase 2's optimizer)
        raise ConfigError(
            "resume: a transfer run with feature extraction or two phases cannot be resumed; train it again"
        )
    if cfg.fine_tune.head_epochs and cfg.fine_tune.head_epochs >= run.trainer.epochs:
        raise ConfigError(
            f"model.fine_tune.head_epochs={cfg.fine_tune.head_epochs}: must be less than "
            f"trainer.epochs={run.trainer.epochs} (phase 2 gets the remaining epochs)"
        )


def extract_features(model: keras.Model, data: Any, batch_size: int) -> tuple[keras.Model, float]:
    """Replace ``data``'s inputs by the ``features`` layer's outputs of ``model``; return the head
    (features -> output, sharing ``model``'s weights) and the seconds the extraction took."""
    features = model.get_layer("features").output
    extractor = keras.Model(model.input, features, name="extractor")
    start = time.perf_counter()
    for split in ("x_train", "x_val", "x_test"):
        x = getattr(data, split)
        if len(x):
            outputs = extractor.predict(*feed(x, batch_size=batch_size), batch_size=batch_size, verbose=0)
            x = keras.ops.convert_to_numpy(outputs)
        else:
            x = np.zeros((0, features.shape[-1]), dtype="float32")  # also for an empty ImageFiles
        setattr(data, split, x)
    seconds = time.perf_counter() - start
    log.info("feature extraction: %d features per example in %.1f s", features.shape[-1], seconds)
    return keras.Model(features, model.output, name="head"), seconds


def start_phase_two(
    model: keras.Model, run: RunConfig, spec: Any, callbacks: list[Any], first_epoch: int, steps_per_epoch: int
) -> None:
    """Unfreeze the backbone's top layers and recompile ``model`` at ``fine_tune.learning_rate``;
    a learning-rate schedule restarts from that rate at ``first_epoch``."""
    ft = run.model.fine_tune
    unfreeze_top(model.get_layer("backbone"), ft.unfreeze_top)
    remaining = run.trainer.epochs - first_epoch
    compile_model(model, run, spec, ft.learning_rate, steps_per_epoch, remaining)
    phase_two = dataclasses.replace(run.optimizer, learning_rate=ft.learning_rate)
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.LearningRateScheduler):
            callback.schedule = lambda epoch, lr: epoch_learning_rate(phase_two, epoch - first_epoch, remaining)
        if isinstance(callback, keras.callbacks.TensorBoard):
            callback.set_model(model)  # phase 1's end closed its event writers; set_model gives it new ones
    log.info(
        "fine-tuning phase 2 from epoch %d: %d trainable weights, learning rate %g",
        first_epoch + 1,
        len(model.trainable_weights),
        ft.learning_rate,
    )
