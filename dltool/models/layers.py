"""Building blocks shared by every architecture: activations, initializers, regularizers, dropout.

Every builder goes through these helpers, so a config key means the same thing in every model
(``model.activation``, ``model.kernel_initializer``, ``regularization.l1/l2/dropout``).
Custom layers defined here are registered with Keras (package ``dltool``), so a saved ``.keras``
model loads back with ``keras.saving.load_model(path, safe_mode=True)`` once the modules defining them
are imported (``dltool.models.import_builders``, which loading a run's model calls).

Example:
    >>> from dltool.models.mlp import MLPConfig
    >>> from dltool.config.regularization import RegularizationConfig
    >>> initializer(MLPConfig(activation="selu"))
    'lecun_normal'
    >>> kernel_regularizer(RegularizationConfig()) is None
    True
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from dltool.config.validate import require_image_shape
from dltool.errors import ConfigError

# Activations whose good default initialization is He's (variance 2/fan_in).
_HE_ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "swish")


@keras.saving.register_keras_serializable(package="dltool")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """Keras' ``BatchNormalization``, trained with TensorFlow's fused kernel on 4-D channels-last float32 inputs.

    Keras 3 normalizes a training batch with separate ops on TensorFlow, each a pass over the activations
    forward and backward; the fused op (``FusedBatchNormV3``) does it in one (docs/models.md). The statistics,
    output, moving averages and gradients match ``BatchNormalization``'s to float32 rounding; every other case is
    Keras' own code, and a saved model holds Keras' usual weights.

    Example:
        >>> import numpy as np
        >>> layer = FusedBatchNormalization(name="bn")
        >>> y = layer(np.ones((2, 4, 4, 3), "float32"), training=True)
        >>> [round(float(v), 6) for v in layer.moving_mean.numpy()]  # momentum 0.99: 1% of the batch mean, 1
        [0.01, 0.01, 0.01]
    """

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        gamma = self.gamma if self.scale else tf.ones_like(self.moving_mean)
        beta = self.beta if self.center else tf.zeros_like(self.moving_mean)
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, gamma, beta, epsilon=self.epsilon, data_format="NHWC", is_training=True
        )
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), variance.dtype)
        variance = variance * (count - 1.0) / count  # the op gives the unbiased variance; Keras averages the biased
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return outputs

    def _fusable(self, inputs: Any, training: Any, mask: Any) -> bool:
        """A training batch of 4-D channels-last float32 images on TensorFlow, with no option the fused op lacks."""
        rank = len(inputs.shape)
        return (
            bool(training)
            and self.trainable
            and keras.backend.backend() == "tensorflow"
            and rank == 4
            and self.axis in (-1, rank - 1)
            and keras.backend.standardize_dtype(inputs.dtype) == "float32"
            and mask is None
            and not self.renorm
            and not self.synchronized
        )


def activation_layer(name: str, alpha: float = 0.01, layer_name: str | None = None) -> keras.layers.Layer:
    """The layer applying activation ``name``; ``alpha`` is the negative slope of ``leaky_relu``, the ``alpha`` of
    ``elu``."""
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=alpha, name=layer_name)
    if name == "elu":
        return keras.layers.ELU(alpha=alpha, name=layer_name)
    return keras.layers.Activation(name, name=layer_name)


def initializer(cfg: Any) -> str:
    """The kernel initializer name of a model config (a name: each layer gets its own initializer).

    ``auto`` picks from ``activation``: ``he_normal`` for the ReLU family, ``lecun_normal`` for selu,
    ``glorot_uniform`` otherwise; a config without these keys (ResNet) gets ``he_normal``.
    """
    name = getattr(cfg, "kernel_initializer", "auto")
    if name == "auto":
        activation = getattr(cfg, "activation", "relu")
        if activation in _HE_ACTIVATIONS:
            return "he_normal"
        if activation == "selu":
            return "lecun_normal"
        return "glorot_uniform"
    try:
        keras.initializers.get(name)
    except (ValueError, TypeError):
        raise ConfigError(
            f"model.kernel_initializer={name}: not a Keras initializer "
            "(auto, glorot_uniform, glorot_normal, he_normal, he_uniform, lecun_normal, lecun_uniform, "
            "orthogonal, ...)"
        ) from None
    return name


def kernel_regularizer(reg: Any) -> keras.regularizers.Regularizer | None:
    """L1, L2 or L1L2 penalty from ``reg.l1`` / ``reg.l2``; None when both are 0."""
    l1, l2 = float(reg.l1), float(reg.l2)
    if l1 and l2:
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    if l1:
        return keras.regularizers.L1(l1)
    if l2:
        return keras.regularizers.L2(l2)
    return None


def dropout_layer(reg: Any, layer_name: str | None = None) -> keras.layers.Layer | None:
    """``Dropout`` (``AlphaDropout`` for ``reg.dropout_type: alpha``) at ``reg.dropout``; None at rate 0."""
    rate = float(reg.dropout)
    if rate <= 0.0:
        return None
    if reg.dropout_type == "alpha":
        return keras.layers.AlphaDropout(rate, name=layer_name)
    return keras.layers.Dropout(rate, name=layer_name)


def weighted_layer(layer: type, x: Any, cfg: Any, reg: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """``layer(*args, **kwargs)`` (Dense, Conv2D) named ``name`` with ``cfg``'s initializer and ``reg``'s penalty, no
    bias under batch norm (its beta replaces it), then BatchNormalization ``<name>_bn`` if ``reg.batch_norm`` and
    ``cfg.activation`` as ``<name>_act``: each weighted layer of the plain dense and convolutional stacks."""
    x = layer(
        *args,
        use_bias=not reg.batch_norm,
        kernel_initializer=initializer(cfg),
        kernel_regularizer=kernel_regularizer(reg),
        name=name,
        **kwargs,
    )(x)
    if reg.batch_norm:
        x = FusedBatchNormalization(name=f"{name}_bn")(x)
    return activation_layer(cfg.activation, cfg.activation_alpha, layer_name=f"{name}_act")(x)


def dense_stack(x: Any, units: list[int], cfg: Any, reg: Any, prefix: str = "hidden") -> Any:
    """Hidden Dense layers ``<prefix><i>``, one per size in ``units``: :func:`weighted_layer`, then dropout if any
    (``<prefix><i>_dropout``)."""
    for i, size in enumerate(units, start=1):
        name = f"{prefix}{i}"
        x = weighted_layer(keras.layers.Dense, x, cfg, reg, name, size)
        drop = dropout_layer(reg, layer_name=f"{name}_dropout")
        if drop is not None:
            x = drop(x)
    return x


def require_image(inputs: Any, model: str) -> tuple:
    """The example shape of ``inputs``; ConfigError unless it is an image (height, width, channels)."""
    return require_image_shape(model, tuple(inputs.shape[1:]))


def require_sequence(inputs: Any, model: str) -> None:
    """ConfigError unless ``inputs`` are sequences (steps, features), as embedded tokens are."""
    if len(inputs.shape) != 3:
        raise ConfigError(
            f"model={model} needs sequences (steps, features) or integer tokens (steps,); the data gives "
            f"examples of shape {tuple(inputs.shape[1:])}"
        )


def _size(shape: Any) -> str:
    return "x".join("?" if d is None else str(d) for d in shape)


def check_fits(x: Any, window: int, key: str, what: str, example_shape: tuple) -> None:
    """ConfigError when a ``window`` x ``window`` (valid convolution or pooling) exceeds the feature map."""
    height, width = x.shape[1], x.shape[2]
    known = [d for d in (height, width) if d is not None]
    if known and min(known) < window:
        raise ConfigError(
            f"{key}: {what} of {window}x{window} does not fit the {_size((height, width))} feature map "
            f"there (input {_size(example_shape)}); use at most {min(known)}, or fewer blocks"
        )


def conv_bn(
    x: Any,
    filters: int,
    kernel: int,
    name: str,
    stride: int = 1,
    padding: str = "same",
    use_bias: bool = False,
    activation: str | None = "relu",
    reg: Any = None,
    bn_epsilon: float = 1e-3,
) -> Any:
    """Conv2D -> BatchNormalization -> activation (none when ``activation`` is None), he_normal,
    the L1/L2 penalty of ``reg``. Layers ``<name>``, ``<name>_bn``, ``<name>_act``."""
    x = keras.layers.Conv2D(
        filters,
        kernel,
        strides=stride,
        padding=padding,
        use_bias=use_bias,
        kernel_initializer="he_normal",
        kernel_regularizer=kernel_regularizer(reg) if reg is not None else None,
        name=name,
    )(x)
    x = FusedBatchNormalization(epsilon=bn_epsilon, name=f"{name}_bn")(x)
    if activation is not None:
        x = activation_layer(activation, layer_name=f"{name}_act")(x)
    return x


@keras.saving.register_keras_serializable(package="dltool")
class ZeroPadShortcut(keras.layers.Layer):
    """ResNet shortcut "A" (He et al. 2016): subsample channels-last images by ``stride`` and zero-pad the channels
    up to ``channels``; no parameters."""

    def __init__(self, channels: int, stride: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.stride = int(stride)

    def call(self, inputs: Any) -> Any:
        x = inputs[:, :: self.stride, :: self.stride, :]
        extra = self.channels - inputs.shape[-1]
        if extra > 0:
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra]])
        return x

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        batch, *sides, _ = input_shape
        return (batch, *(None if n is None else -(-n // self.stride) for n in sides), self.channels)

    def get_config(self) -> dict:
        return {**super().get_config(), "channels": self.channels, "stride": self.stride}


@keras.saving.register_keras_serializable(package="dltool")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per position to a ``(batch, steps, dim)`` sequence of at most ``max_length`` steps."""

    def __init__(self, max_length: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = int(max_length)

    def build(self, input_shape: tuple) -> None:
        self.positions = self.add_weight(
            shape=(self.max_length, input_shape[-1]), initializer="glorot_uniform", name="positions"
        )

    def call(self, inputs: Any) -> Any:
        steps = keras.ops.shape(inputs)[1]
        return inputs + keras.ops.cast(self.positions[:steps], inputs.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "max_length": self.max_length}


@keras.saving.register_keras_serializable(package="dltool")
class ChannelAffine(keras.layers.Layer):
    """``y = x @ matrix + bias`` on the channels of each pixel (the backbone's scaling, channel order, the
    repetition of a grey channel); no trainable parameters."""

    def __init__(self, matrix: list[list[float]], bias: list[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.matrix = [[float(v) for v in row] for row in matrix]
        self.bias = [float(v) for v in bias]

    def call(self, inputs: Any) -> Any:
        matrix = ops.convert_to_tensor(self.matrix, dtype=inputs.dtype)
        return ops.matmul(inputs, matrix) + ops.convert_to_tensor(self.bias, dtype=inputs.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], len(self.bias))

    def get_config(self) -> dict:
        return {**super().get_config(), "matrix": self.matrix, "bias": self.bias}
