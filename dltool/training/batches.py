"""Training batches whose order is a function of (seed, epoch) alone.

Keras' own ``shuffle=True`` draws each epoch's order from a random state that lives in the
process: a run resumed in a new process would see other batches than the uninterrupted run.
Here epoch ``e`` is shuffled with the stateless ``(seed, e)`` permutation, so a resumed run
trains on exactly the batches the uninterrupted one would have.

Example:
    >>> import numpy as np
    >>> data = epoch_batches(np.arange(10.0)[:, None], np.arange(10), batch_size=4, seed=0, epochs=(0, 2))
    >>> [len(y) for _, y in data.take(6)]
    [4, 4, 2, 4, 4, 2]
"""

from __future__ import annotations

import math
from typing import Any


def epoch_batches(x: Any, y: Any, batch_size: int, seed: int, epochs: tuple[int, int]) -> Any:
    """A ``tf.data.Dataset`` of ``(x, y)`` batches for epochs ``epochs[0]`` to ``epochs[1] - 1``, in order.

    Fit it with ``steps_per_epoch=steps_per_epoch(len(x), batch_size)`` so that Keras keeps one
    iterator across epochs (each epoch ends with its own partial batch).
    """
    import tensorflow as tf

    n = len(x)

    def order(epoch: Any) -> Any:
        return tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )

    indices = (
        tf.data.Dataset.range(*epochs)
        .map(order)
        .flat_map(lambda idx: tf.data.Dataset.from_tensor_slices(idx).batch(batch_size))
    )
    arrays = tf.data.Dataset.from_tensors((x, y)).repeat()  # as Keras does: gather batches from the whole arrays
    return (
        tf.data.Dataset.zip((indices, arrays))
        .map(lambda idx, xy: (tf.gather(xy[0], idx), tf.gather(xy[1], idx)), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches in one epoch, the last one partial."""
    return max(1, math.ceil(n / batch_size))
