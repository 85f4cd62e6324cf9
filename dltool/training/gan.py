"""Training of ``model=gan``: a generator and a discriminator trained against each other.

:class:`GAN` is a ``keras.Model`` whose ``train_step`` does the two updates of each step, as in
Keras' DCGAN example (keras.io/examples/generative/dcgan_overriding_train_step): the
discriminator learns real images (label 1) from generated ones (label 0), then the generator
learns to make the discriminator say 1. ``fit`` runs it with the run directory's callbacks;
each epoch writes ``samples/epoch_NNN.png``, images generated from the same latent vectors, so
the grids show the generator learning. ``metrics.csv`` has ``d_loss`` and ``g_loss`` per epoch;
``checkpoints/last.keras`` is the generator (there is no "best" GAN by a loss).

The gradient tapes are TensorFlow's: ``model=gan`` runs on the tensorflow backend.

Example:
    >>> results = train_run(validate(compose(["model=gan"])), Path("outputs/gan"))  # doctest: +SKIP
    >>> sorted(p.name for p in Path("outputs/gan/samples").iterdir())[:2]  # doctest: +SKIP
    ['epoch_001.png', 'epoch_002.png']
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np

from dltool.config import RunConfig
from dltool.errors import ConfigError, Interrupted, JobFailed

log = logging.getLogger("dltool")


class GAN(keras.Model):
    """A generator and a discriminator with the adversarial ``train_step`` (TensorFlow backend)."""

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, latent_dim: int, label_noise: float, seed: int
    ) -> None:
        super().__init__(name="gan")
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.label_noise = latent_dim, label_noise
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer: Any, g_optimizer: Any, jit_compile: Any = "auto") -> None:
        # the generator's optimizer is the model's: it is what the learning-rate callbacks see
        super().compile(optimizer=g_optimizer, jit_compile=jit_compile)
        self.d_optimizer = d_optimizer
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.d_loss_tracker, self.g_loss_tracker]  # reset by Keras at each epoch

    def call(self, latent: Any, training: bool = False) -> Any:
        return self.discriminator(self.generator(latent, training=training), training=training)

    def train_step(self, data: Any) -> dict[str, Any]:
        import tensorflow as tf

        real = data[0] if isinstance(data, tuple) else data
        batch = keras.ops.shape(real)[0]
        ops = keras.ops

        # 1. the discriminator: real images are 1, generated ones 0 (with a little label noise)
        latent = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(latent, training=True)
        images = ops.concatenate([real, ops.cast(fake, real.dtype)], axis=0)
        labels = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
        labels = ops.abs(labels - self.label_noise * keras.random.uniform(ops.shape(labels), seed=self.seed_generator))
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(images, training=True))
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights, strict=True))

        # 2. the generator: make the discriminator call its images real
        latent = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            verdict = self.discriminator(self.generator(latent, training=True), training=True)
            g_loss = self.loss_fn(ops.ones((batch, 1)), verdict)
        weights = self.generator.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights, strict=True))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, ``directory/epoch_NNN.png``: the generator's images from fixed latent vectors."""

    def __init__(self, generator: keras.Model, latent: np.ndarray, directory: Path) -> None:
        super().__init__()
        self.generator, self.latent, self.directory = generator, latent, Path(directory)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        from dltool.plots import plot_image_grid

        self.directory.mkdir(parents=True, exist_ok=True)
        images = keras.ops.convert_to_numpy(self.generator.predict(self.latent, verbose=0))
        plot_image_grid(images, self.directory / f"epoch_{epoch + 1:03d}.png", f"epoch {epoch + 1}")


def train_gan(
    run: RunConfig, run_dir: Path, info: Any, started: datetime, show_progress: bool = True
) -> dict[str, Any]:
    """Train ``model=gan`` on the training images and write its run directory; return results.json's content.

    Called by :func:`dltool.training.fit.train_run` once the devices are set up (``info``).
    """
    if run.resume:
        raise ConfigError("model=gan runs cannot be resumed (resume=...): start a new run")

    from dltool.data import load_dataset
    from dltool.models import build_model, model_spec
    from dltool.plots import plot_history, plot_model_diagram
    from dltool.training.artifacts import model_summary_text, versions, write_json
    from dltool.training.batches import steps_per_epoch
    from dltool.training.build import param_counts
    from dltool.training.callbacks import Checkpoint, EpochStats, InterruptGuard, MetricsCSV, RichProgress, RunStop
    from dltool.training.monitoring import monitoring_callbacks
    from dltool.training.optimizers import build_optimizer

    seed = run.data.seed if run.data.seed is not None else run.trainer.seed
    data = load_dataset(run.data, seed)
    spec = model_spec(run.model, data.spec)
    x = data.x_train
    log.info("data %s: %d training images of shape %s (generation)", run.data.name, len(x), spec.input_shape)
    steps = steps_per_epoch(len(x), run.trainer.batch_size)
    with info.scope():
        pair = build_model(run.model, data.spec, run.regularization)
        generator, discriminator = pair.get_layer("generator"), pair.get_layer("discriminator")
        gan = GAN(generator, discriminator, run.model.latent_dim, run.model.label_noise, run.trainer.seed)
        d_optimizer, g_optimizer = (build_optimizer(run.optimizer, steps, run.trainer.epochs) for _ in range(2))
        gan.compile(d_optimizer, g_optimizer, run.trainer.jit_compile)
    (run_dir / "model_summary.txt").write_text(model_summary_text(generator) + model_summary_text(discriminator))
    warning = plot_model_diagram(pair, run_dir / "model.png")
    if warning:
        log.warning(warning)

    cb = run.callbacks
    stop = RunStop()
    checkpoint = Checkpoint(run_dir / "checkpoints", "g_loss", "min", save_best=False, save_last=True, stop=stop)
    checkpoint.directory.mkdir(parents=True, exist_ok=True)
    checkpoint.saved_model = generator
    latent = np.random.default_rng(run.trainer.seed).normal(size=(run.model.samples, run.model.latent_dim))
    callbacks: list[keras.callbacks.Callback] = [
        InterruptGuard(stop),
        EpochStats(),
        MetricsCSV(run_dir / "metrics.csv", stop),
        checkpoint,
        SampleGrid(generator, latent.astype("float32"), run_dir / "samples"),
    ]
    if cb.tensorboard.enabled:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard"), write_graph=False))
    callbacks += monitoring_callbacks(cb, run_dir, None)
    if show_progress:
        callbacks.append(RichProgress(run.trainer.epochs, steps))

    start = time.perf_counter()
    history = gan.fit(
        _shuffled(x, run.trainer.batch_size, run.trainer.seed),
        batch_size=run.trainer.batch_size,
        epochs=run.trainer.epochs,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    train_time = time.perf_counter() - start
    epochs_run = len(history.history.get("d_loss", []))
    final = {k: float(v[-1]) for k, v in history.history.items() if k in ("d_loss", "g_loss") and v}
    results: dict[str, Any] = {
        "status": "completed",
        "run_dir": str(run_dir),
        "task": "generation",
        "epochs_run": epochs_run,
        **{f"final_{k}": v for k, v in final.items()},
        "samples": str(run_dir / "samples" / f"epoch_{epochs_run:03d}.png") if epochs_run else None,
        "train_time_s": round(train_time, 3),
        "samples_per_s": round(len(x) * epochs_run / train_time, 1) if epochs_run else None,
        "params": {
            **param_counts(pair),
            "generator": param_counts(generator),
            "discriminator": param_counts(discriminator),
        },
        **info.as_dict(),
        "seed": run.trainer.seed,
        "data": {"name": run.data.name, "train": len(x), "input_shape": list(spec.input_shape)},
        "started_at": started.isoformat(timespec="seconds"),
        "versions": versions(),
    }
    if epochs_run and (run_dir / "metrics.csv").exists():
        plot_history(run_dir / "metrics.csv", run_dir / "history.png")
    results["finished_at"] = datetime.now().isoformat(timespec="seconds")
    if stop.reason == "interrupted":
        results.update(status="interrupted", error=f"interrupted at epoch {stop.epoch}")
        write_json(run_dir / "results.json", results)
        raise Interrupted(f"stopped at epoch {stop.epoch}; the generator of the last complete epoch is saved")
    if not all(math.isfinite(v) for v in final.values()):
        results.update(status="failed", error=f"non-finite losses {final}")
        write_json(run_dir / "results.json", results)
        raise JobFailed(f"the GAN's losses are not finite after epoch {epochs_run}: {final}")
    write_json(run_dir / "results.json", results)
    return results


def _shuffled(x: Any, batch_size: int, seed: int) -> Any:
    """What ``fit(shuffle=True)`` takes: the images, or for a streamed image folder batches of its files read
    and decoded in parallel, reshuffled each epoch by ``tf.data`` (as ``shuffle=True`` does for arrays)."""
    from dltool.data.images import ImageFiles

    if not isinstance(x, ImageFiles):
        return x
    import tensorflow as tf

    rows = tf.data.Dataset.range(len(x)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return x.batches(batch_size, rows=rows).prefetch(tf.data.AUTOTUNE)
