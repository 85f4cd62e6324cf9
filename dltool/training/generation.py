"""What a ``model=gan`` run adds to the run directory: sample grids, a guard on its two losses, results.

The :class:`~dltool.models.gan.GAN` trains through the same ``fit`` as every model, with every run's
callbacks (docs/cookbook.md, "GAN").

Example:
    >>> results = train_run(validate(compose(["experiment=digits_gan"])), Path("outputs/gan"))  # doctest: +SKIP
    >>> sorted(p.name for p in Path("outputs/gan/samples").iterdir())[:2]  # doctest: +SKIP
    ['epoch_001.png', 'epoch_002.png']
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import keras
import numpy as np

from dltool.config import RunConfig
from dltool.training.build import param_counts
from dltool.training.guards import RunStop

LOSSES = ("d_loss", "g_loss")


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, ``directory/epoch_NNN.png``: the generator's images from fixed latent vectors."""

    def __init__(self, latent: np.ndarray, directory: Path, stop: RunStop | None = None) -> None:
        super().__init__()
        self.latent, self.directory, self.stop = latent, Path(directory), stop or RunStop()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        from dltool.plots import plot_image_grid

        if self.stop.discards(epoch):
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        images = keras.ops.convert_to_numpy(self.model.generator.predict(self.latent, verbose=0))
        plot_image_grid(images, self.directory / f"epoch_{epoch + 1:03d}.png", f"epoch {epoch + 1}")


class LossesGuard(keras.callbacks.Callback):
    """Stops training at the end of an epoch whose ``d_loss`` or ``g_loss`` is not finite; the epoch is
    then discarded (not written to metrics.csv, checkpointed or backed up) and the run fails."""

    def __init__(self, stop: RunStop) -> None:
        super().__init__()
        self.stop = stop

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        bad = {k: float(logs[k]) for k in LOSSES if k in (logs or {}) and not math.isfinite(float(logs[k]))}
        if bad and self.stop.reason is None:
            name, value = next(iter(bad.items()))
            self.stop.halt(self.model, f"non-finite {name} {value}", epoch + 1, incomplete=epoch)


def add_generation_callbacks(
    callbacks: list[keras.callbacks.Callback], run: RunConfig, run_dir: Path, stop: RunStop
) -> None:
    """Put the guard after the first callback (the Ctrl-C guard), before those that save an epoch, and the
    sample grids last: both see an epoch before the backup that :func:`~dltool.training.fit.train_run` adds."""
    latent = np.random.default_rng(run.trainer.seed).normal(size=(run.model.samples, run.model.latent_dim))
    callbacks.insert(1, LossesGuard(stop))
    callbacks.append(SampleGrid(latent.astype("float32"), run_dir / "samples", stop))


def generation_results(model: keras.Model, run_dir: Path, epochs_run: int) -> dict[str, Any]:
    """results.json's keys of a GAN run: the last epoch's losses (from metrics.csv, so a resumed run
    has them even with no epoch left to train), its sample grid, and both networks' parameters."""
    path = run_dir / "metrics.csv"
    rows: list[dict[str, str]] = []
    if path.is_file():
        with path.open() as f:
            rows = list(csv.DictReader(f))
    last = rows[-1] if rows else {}
    return {
        **{f"final_{k}": float(last[k]) for k in LOSSES if last.get(k)},
        "samples": str(run_dir / "samples" / f"epoch_{epochs_run:03d}.png") if epochs_run else None,
        "params": {
            **param_counts(model),
            "generator": param_counts(model.generator),
            "discriminator": param_counts(model.discriminator),
        },
    }
