"""Overhead of ``dltool train`` over a plain hand-written Keras script.

Same network (the seeds' CIFAR CNN, ``model=cnn_cifar``: 122,570 parameters), same synthetic CIFAR-shaped
data, batch size and epochs, fed the same way: the plain script trains on the ``tf.data`` batches dltool makes
of in-memory arrays (``dltool.training.batches.epoch_batches``, validation through ``feed``), so the two differ
only by what ``dltool train`` adds around ``fit``. Both record the end time of every epoch with the same
callback (``bench/epoch_clock.py``), added last so that an epoch's period includes every other callback's work
(dltool's checkpoints, metrics CSV, TensorBoard, backups, live display).

Each round runs one process of each side, in turn (plain, dltool, plain, dltool, ...); a process's figure is
the median of its epochs but the first (tracing). The ratio dltool / plain is taken per round and the median
(min–max) of those ratios is printed: the goal (≤ 1.03) is met only by the median.

    python bench/overhead.py                       # defaults below, about 5 minutes on 2 cores
    python bench/overhead.py --epochs 8 --rounds 5 --samples 10000
    python bench/overhead.py --samples 1000 --epochs 3 --rounds 2   # smoke
    python bench/overhead.py --cores 2             # unpinned: TensorFlow's two-core speed flips (see below)

By default both sides run on one core with one TensorFlow thread (``--cores 1``: ``taskset -c 0`` and
``TF_NUM_INTRAOP_THREADS=TF_NUM_INTEROP_THREADS=1``): on 2 cores, TensorFlow epochs flip between two-core
and one-core speed (2.8 s vs 5 s here), and two threads pinned to one core spin against each other
(10 s epochs), so only the single-thread setting gives ratios that a 3% target can be read from.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import child_env, interleaved, median_range, paired_ratios, run_side_process  # noqa: E402
from bench.epoch_clock import EpochClock, epoch_periods  # noqa: E402


def data_overrides(samples: int, validation_split: float = 0.1, test_split: float = 0.1) -> list[str]:
    """CIFAR-shaped synthetic data (32x32x3, 10 classes), the CPU benchmarks' common input."""
    return [
        "data=synthetic",
        f"data.num_samples={samples}",
        "data.input_shape=[32,32,3]",
        "data.num_classes=10",
        f"data.test_split={test_split}",
        f"data.validation_split={validation_split}",
    ]


def plain_keras(clock: str, samples: int, epochs: int, batch_size: int) -> None:
    """The plain Keras script: a hand-built Sequential model and ``fit``, nothing else."""
    import keras

    from dltool.config import compose, validate
    from dltool.data import load_dataset
    from dltool.training.batches import epoch_batches, feed

    run = validate(compose(data_overrides(samples)))
    data = load_dataset(run.data, seed=42)  # the very arrays dltool trains on
    keras.utils.set_random_seed(42)
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    assert model.count_params() == 122_570
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # fed as dltool's fit feeds in-memory arrays: the (seed, epoch) batches of tf.data, steps per epoch given
    batches, steps = epoch_batches(data.x_train, data.y_train, batch_size, run.trainer.seed, (0, epochs))
    model.fit(
        batches,
        steps_per_epoch=steps,
        validation_data=feed(data.x_val, data.y_val, batch_size),
        epochs=epochs,
        shuffle=False,
        verbose=0,
        callbacks=[EpochClock(clock)],
    )


def run_side(
    side: str, samples: int, epochs: int, batch_size: int, workdir: Path, cores: int, extra: list[str]
) -> float:
    """Seconds of a steady epoch of one process of ``side``: the median of its epochs but the first. Raises
    ``RuntimeError`` with the exit code and the end of the process's stderr when it fails."""
    clock = workdir / f"{side}.json"
    clock.unlink(missing_ok=True)  # a failed process must not leave the previous round's marks to be read
    env = child_env()
    pin = []
    if cores == 1:
        env.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
        pin = ["taskset", "-c", "0"]
    if side == "plain":
        cmd = [sys.executable, __file__, "--plain", str(clock), "--samples", str(samples), "--epochs", str(epochs)]
        cmd += ["--batch-size", str(batch_size)]
    else:
        cmd = [
            sys.executable,
            "-m",
            "dltool",
            "train",
            "model=cnn_cifar",
            *data_overrides(samples),
            f"trainer.epochs={epochs}",
            f"trainer.batch_size={batch_size}",
            "callbacks.early_stopping.enabled=false",
            f"callbacks.custom=[{{_target_: bench.epoch_clock.EpochClock, path: '{clock}'}}]",
            *extra,
        ]
    run_side_process([*pin, *cmd], workdir, env)
    periods = epoch_periods(clock)[1:]
    print(f"{side:>6}: " + " ".join(f"{p:.2f}" for p in periods), flush=True)
    return statistics.median(periods)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10000, help="synthetic examples (80%% train)")
    parser.add_argument("--epochs", type=int, default=6, help="per process; the first is dropped")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="processes per side, interleaved")
    parser.add_argument("--cores", type=int, choices=(1, 2), default=1, help="1: pinned, one thread (stable)")
    parser.add_argument("--extra", nargs="*", default=[], help="overrides for the dltool side")
    parser.add_argument("--plain", metavar="CLOCK", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        plain_keras(args.plain, args.samples, args.epochs, args.batch_size)
        return

    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        sides = {
            side: partial(run_side, side, args.samples, args.epochs, args.batch_size, Path(tmp), args.cores, args.extra)
            for side in ("plain", "dltool")
        }
        epochs = interleaved(sides, args.rounds)
    print(f"load average at end: {os.getloadavg()}")
    ratios = paired_ratios(epochs["dltool"], epochs["plain"])
    print(f"\n{args.rounds} rounds; a process's steady epoch: the median of its epochs 2-{args.epochs}")
    print("| side | steady epoch, median (min–max) over rounds |\n| --- | --- |")
    for name, side in (("plain Keras", "plain"), ("dltool train", "dltool")):
        print(f"| {name} | {median_range([e for e in epochs[side] if e is not None])} s |")
    print(f"| dltool / plain, per round | {median_range(ratios)} |")
    if ratios:
        verdict = "met" if statistics.median(ratios) <= 1.03 else "not met"
        print(f"goal: the median ratio ≤ 1.03 — {verdict}")


if __name__ == "__main__":
    main()
