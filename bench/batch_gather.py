"""What a training batch costs to gather: rows taken from the NumPy arrays in place (``tf.numpy_function``, dltool's
``epoch_batches``) vs ``tf.gather`` on tensors holding the whole split (what Keras' own array adapter does,
after copying the arrays into tensors), against one training step of the CIFAR CNN on the same batch.

    python bench/batch_gather.py                          # 10,000 CIFAR-shaped images, batch 128, 5 rounds
    python bench/batch_gather.py --samples 50000 --rounds 7

Each round times, in turn: one epoch of dltool's batches alone, one epoch of ``tf.gather`` batches alone (the
same ``(seed, epoch)`` orders), and ``--steps`` training steps of ``model=cnn_cifar`` on one fixed batch. Per
round: milliseconds per batch for each way of gathering, their ratio (in place / tensors), and the in-place
gather's cost as a share of a training step. Printed: the median (min–max) of each over the rounds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import interleaved, median_range, paired_ratios  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000, help="CIFAR-shaped training images")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20, help="training steps timed per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    from bench.cpu_peers import keras_model
    from dltool.training.batches import epoch_batches, steps_per_epoch

    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, args.samples).astype(np.int32)
    steps = steps_per_epoch(args.samples, args.batch_size)
    epochs = iter(range(10**6))

    def in_place() -> float:
        epoch = next(epochs)
        batches, _ = epoch_batches(x, y, args.batch_size, seed=0, epochs=(epoch, epoch + 1))
        return _ms_per_batch(batches, steps)

    x_tensor, y_tensor = tf.constant(x), tf.constant(y)

    def tensors() -> float:
        epoch = next(epochs)
        order = tf.random.experimental.stateless_shuffle(
            tf.range(args.samples, dtype=tf.int64), seed=tf.constant([0, epoch], tf.int64)
        )
        batches = (
            tf.data.Dataset.from_tensor_slices(order)
            .batch(args.batch_size)
            .map(lambda i: (tf.gather(x_tensor, i), tf.gather(y_tensor, i)), num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE)
        )
        return _ms_per_batch(batches, steps)

    model = keras_model("cnn_cifar")
    batch = (x[: args.batch_size], y[: args.batch_size])
    model.train_on_batch(*batch)  # traced once, outside the rounds

    def train_step() -> float:
        start = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(*batch)
        return (time.perf_counter() - start) * 1000 / args.steps

    figures = interleaved({"in place": in_place, "tensors": tensors, "step": train_step}, args.rounds)
    print(f"{args.samples:,} images 32x32x3, batch {args.batch_size}, {args.rounds} rounds; per batch, ms:")
    for name, values in figures.items():
        print(f"  {name:<9} {median_range([v for v in values if v is not None])}")
    print(f"  in place / tensors: {median_range(paired_ratios(figures['in place'], figures['tensors']))}")
    print(f"  in place / step:    {median_range(paired_ratios(figures['in place'], figures['step']))}")


def _ms_per_batch(batches, steps: int) -> float:
    start = time.perf_counter()
    for _ in batches.take(steps):
        pass
    return (time.perf_counter() - start) * 1000 / steps


if __name__ == "__main__":
    main()
