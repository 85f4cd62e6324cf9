"""Training batches whose order is a function of (seed, epoch) alone.

Keras' own ``shuffle=True`` draws each epoch's order from a random state that lives in the process, so a
resumed run would see other batches; here epoch ``e`` is shuffled with the ``(seed, e)`` permutation. On
TensorFlow the batches are a ``tf.data`` pipeline; on JAX and PyTorch, which do not import TensorFlow, a
``keras.utils.PyDataset`` with NumPy's permutation (another order, as exact). ``x`` and ``y`` may be dicts
of arrays (several inputs or outputs), or ``x`` an :class:`~dltool.data.images.ImageFiles` whose files are
decoded batch by batch.

Example:
    >>> import numpy as np
    >>> data, steps = epoch_batches(np.arange(10.0)[:, None], np.arange(10), batch_size=4, seed=0, epochs=(0, 2))
    >>> steps_per_epoch(10, 4)
    3
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dltool.data.base import num_examples, take
from dltool.data.images import ImageFiles


def epoch_batches(x: Any, y: Any, batch_size: int, seed: int, epochs: tuple[int, int]) -> tuple[Any, int | None]:
    """The ``(x, y)`` batches of epochs ``epochs[0]`` to ``epochs[1] - 1``, and the ``steps_per_epoch`` to fit with."""
    import keras

    if keras.backend.backend() == "tensorflow":
        return _tf_batches(x, y, batch_size, seed, epochs), steps_per_epoch(num_examples(x), batch_size)
    return _py_dataset(x, y, batch_size, seed, epochs[0]), None


def _tf_batches(x: Any, y: Any, batch_size: int, seed: int, epochs: tuple[int, int]) -> Any:
    """A ``tf.data.Dataset`` of all the epochs' batches, one after the other.

    Fit with ``steps_per_epoch`` so that Keras keeps one iterator across epochs (each epoch ends
    with its own partial batch).
    """
    import tensorflow as tf

    n = num_examples(x)

    def order(epoch: Any) -> Any:
        return tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )

    if isinstance(x, ImageFiles):  # each epoch: its files in the (seed, epoch) order, read and decoded in parallel

        def epoch_files(epoch: Any) -> Any:
            return x.batches(batch_size, y, tf.data.Dataset.from_tensor_slices(order(epoch)))

        return tf.data.Dataset.range(*epochs).flat_map(epoch_files).prefetch(tf.data.AUTOTUNE)
    indices = (
        tf.data.Dataset.range(*epochs)
        .map(order)
        .flat_map(lambda idx: tf.data.Dataset.from_tensor_slices(idx).batch(batch_size))
    )
    return indices.map(_numpy_gather(x, y), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _numpy_gather(x: Any, y: Any = None) -> Any:
    """A ``tf.data`` map from a batch's indices to its ``(x, y)`` (``x`` alone without ``y``), gathered from the
    NumPy arrays where they are: TensorFlow would copy whole arrays into its own tensors before gathering."""
    import tensorflow as tf

    structure = x if y is None else (x, y)
    arrays = tf.nest.flatten(structure)

    def gather(idx: Any) -> Any:
        rows = tf.numpy_function(lambda i: [a[i] for a in arrays], [idx], [tf.as_dtype(a.dtype) for a in arrays])
        for batch, a in zip(rows, arrays, strict=True):
            batch.set_shape((None, *a.shape[1:]))
        return tf.nest.pack_sequence_as(structure, rows)

    return gather


def feed(x: Any, y: Any = None, batch_size: int = 32) -> tuple[Any, ...]:
    """``x`` (and ``y``) as the positional arguments of ``model.evaluate`` or ``model.predict``, or as
    ``validation_data``, never whole: on TensorFlow, batches in order gathered from the arrays where they are
    (Keras would copy whole arrays into tensors), or decoded from an :class:`~dltool.data.images.ImageFiles`;
    on JAX and PyTorch, arrays as they are and a ``PyDataset`` of decoded images.

    Example:
        >>> import numpy as np
        >>> x, y = np.arange(6.0).reshape(3, 2), np.ones(3)
        >>> [tuple(b.shape) for b, _ in feed(x, y, batch_size=2)[0]]
        [(2, 2), (1, 2)]
    """
    import keras

    tensorflow = keras.backend.backend() == "tensorflow"
    if not isinstance(x, ImageFiles):
        if not tensorflow or not all(_numeric(a) for a in _arrays(x, y)):  # texts, lists: Keras' own adapters
            return (x,) if y is None else (x, y)
        import tensorflow as tf

        batches = tf.data.Dataset.range(num_examples(x)).batch(batch_size)
        return (batches.map(_numpy_gather(x, y)).prefetch(tf.data.AUTOTUNE),)
    if tensorflow:
        import tensorflow as tf

        return (x.batches(batch_size, y).prefetch(tf.data.AUTOTUNE),)
    return (_py_dataset(x, y, batch_size, None, 0),)


def _numeric(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind in "biuf"


def _arrays(x: Any, y: Any) -> list[Any]:
    import tensorflow as tf

    return tf.nest.flatten(x if y is None else (x, y))


def _py_dataset(x: Any, y: Any, batch_size: int, seed: int | None, first_epoch: int) -> Any:
    """A ``keras.utils.PyDataset`` whose order is NumPy's ``(seed, epoch)`` permutation, renewed at each epoch end
    (``seed=None``: the examples in order, and batches of ``x`` alone when ``y`` is None).

    On JAX with an accelerator, training arrays that fit (:func:`device_resident`) are copied to it once
    and each batch is gathered there: ``fit`` then sends row numbers, not images, at every step.
    """
    import keras

    if seed is not None and keras.backend.backend() == "jax":
        x, y = device_resident(x), device_resident(y)

    def order(epoch: int) -> np.ndarray:
        n = num_examples(x)
        return np.arange(n) if seed is None else np.random.default_rng([seed, epoch]).permutation(n)

    class EpochBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.epoch = first_epoch
            self.order = order(self.epoch)

        def __len__(self) -> int:
            return steps_per_epoch(num_examples(x), batch_size)

        def __getitem__(self, i: int) -> Any:
            index = self.order[i * batch_size : (i + 1) * batch_size]
            return take(x, index) if y is None else (take(x, index), take(y, index))

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self.order = order(self.epoch)

    return EpochBatches()


def device_resident(a: Any, force: bool = False) -> Any:
    """``a`` (an array or a dict of arrays) as JAX arrays on the default device, when that device is an
    accelerator with room for it (a quarter of its memory at most) or ``force``; else ``a`` unchanged.

    Example:
        >>> import numpy as np
        >>> type(device_resident(np.zeros(3))).__name__  # a CPU run keeps its NumPy arrays
        'ndarray'
    """
    import jax

    arrays = list(a.values()) if isinstance(a, dict) else [a]
    if not all(isinstance(v, np.ndarray) for v in arrays):  # an ImageFiles is decoded batch by batch
        return a
    if not force:
        device = jax.devices()[0]
        limit = (device.memory_stats() or {}).get("bytes_limit", 0) if device.platform != "cpu" else 0
        if sum(v.nbytes for v in arrays) > limit / 4:
            return a
    return jax.tree_util.tree_map(jax.device_put, a)


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches in one epoch, the last one partial."""
    return max(1, math.ceil(n / batch_size))
