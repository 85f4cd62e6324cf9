"""The :class:`GAN` of ``model=gan`` (:mod:`dltool.models.gan` builds its two networks): a ``keras.Model`` whose
``train_step`` trains the discriminator, then the generator, at each step. Keras-time code alone imports it.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="dltool")
class GAN(keras.Model):
    """A generator and a discriminator trained in turn by ``fit``; called on latent vectors, the generator.

    Args:
        generator: latent vector (``latent_dim``) -> image.
        discriminator: image -> one logit, positive for "real".
        latent_dim: length of the latent vectors.
        label_noise: the discriminator's 0/1 labels move this far at most (uniform noise) towards each other.
        seed: seed of the latent vectors and label noise drawn by the steps (None: drawn from the global
            seed, which ``trainer.seed`` sets).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int,
        label_noise: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=kwargs.pop("name", "gan"), **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.label_noise, self.seed = latent_dim, label_noise, seed
        # a variable of the model: backed up and restored with it, so a resumed run draws what it would have
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.built = True  # both networks are built functional models

    def compile(self, d_optimizer: Any, g_optimizer: Any, loss_fn: Any, **kwargs: Any) -> None:
        """``g_optimizer`` is the model's ``optimizer`` (the one learning-rate callbacks and logs see);
        ``loss_fn(labels, logits)`` scores the discriminator's verdicts; ``kwargs`` go to ``Model.compile``."""
        super().compile(optimizer=g_optimizer, **kwargs)
        self.d_optimizer, self.loss_fn = d_optimizer, loss_fn
        # built now, on their own network's weights: a backup or checkpoint loads their state before any step
        g_optimizer.build(self.generator.trainable_variables)
        d_optimizer.build(self.discriminator.trainable_variables)

    def get_compile_config(self) -> dict[str, Any] | None:
        if not self.compiled:
            return None
        return {"d_optimizer": self.d_optimizer, "g_optimizer": self.optimizer, "loss_fn": self.loss_fn}

    def compile_from_config(self, config: dict[str, Any]) -> None:
        self.compile(**keras.saving.deserialize_keras_object(config))

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "label_noise": self.label_noise,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GAN:
        networks = {k: keras.saving.deserialize_keras_object(config.pop(k)) for k in ("generator", "discriminator")}
        return cls(**networks, **config)

    def summary(self, **kwargs: Any) -> None:
        """``Model.summary``, listing the layers of both networks unless ``expand_nested=False``."""
        kwargs.setdefault("expand_nested", True)
        super().summary(**kwargs)

    def as_graph(self) -> keras.Model:
        """Latent vector -> generator -> discriminator as a functional model sharing their layers: what
        ``model.png`` draws (Keras draws a subclassed model as one box)."""
        latent = keras.Input((self.latent_dim,), name="latent")
        return keras.Model(latent, self.discriminator(self.generator(latent)), name=self.name)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.d_loss_tracker, self.g_loss_tracker]  # reset by Keras at each epoch

    def call(self, latent: Any, training: bool = False) -> Any:
        return self.generator(latent, training=training)

    def train_step(self, data: Any) -> dict[str, Any]:
        import tensorflow as tf

        real = _images(data)
        with tf.GradientTape() as tape:
            d_loss = self._discriminator_loss(real, training=True)
        self._apply(self.d_optimizer, tape.gradient(d_loss, self.discriminator.trainable_weights), self.discriminator)
        with tf.GradientTape() as tape:
            g_loss = self._generator_loss(ops.shape(real)[0], training=True)
        self._apply(self.optimizer, tape.gradient(g_loss, self.generator.trainable_weights), self.generator)
        return self._track(d_loss, g_loss)

    def test_step(self, data: Any) -> dict[str, Any]:
        real = _images(data)
        return self._track(self._discriminator_loss(real), self._generator_loss(ops.shape(real)[0]))

    def _discriminator_loss(self, real: Any, training: bool = False) -> Any:
        """Real images are 1, generated ones 0 (each label moved by up to ``label_noise`` towards the other)."""
        batch = ops.shape(real)[0]
        fake = self.generator(self._latent(batch), training=training)
        images = ops.concatenate([real, ops.cast(fake, real.dtype)], axis=0)
        labels = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
        labels = ops.abs(labels - self.label_noise * keras.random.uniform(ops.shape(labels), seed=self.seed_generator))
        return self.loss_fn(labels, self.discriminator(images, training=training))

    def _generator_loss(self, batch: Any, training: bool = False) -> Any:
        """How far the discriminator is from calling the generator's images real."""
        verdict = self.discriminator(self.generator(self._latent(batch), training=training), training=training)
        return self.loss_fn(ops.ones((batch, 1)), verdict)

    def _latent(self, batch: Any) -> Any:
        return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)

    def _apply(self, optimizer: Any, gradients: list[Any], network: keras.Model) -> None:
        optimizer.apply_gradients(zip(gradients, network.trainable_weights, strict=True))

    def _track(self, d_loss: Any, g_loss: Any) -> dict[str, Any]:
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}


def _images(data: Any) -> Any:
    """The images of a batch: ``fit`` and ``evaluate`` give (images, labels); the labels are not used."""
    return data[0] if isinstance(data, tuple | list) else data
