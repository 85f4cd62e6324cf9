"""Overhead of ``dltool train`` over a plain hand-written Keras script.

Same network (the seeds' CIFAR CNN, ``model=cnn_cifar``: 122,570 parameters), same synthetic
CIFAR-shaped data, batch size and epochs; each side runs in a fresh process, alternately, and
records the end time of every epoch with the same callback (``bench/epoch_clock.py``), added
last so that an epoch's period includes every other callback's work (dltool's checkpoints,
metrics CSV, TensorBoard, backups, live display). The first epoch (tracing) is dropped.

    python bench/overhead.py                       # defaults below, about 5 minutes on 2 cores
    python bench/overhead.py --epochs 8 --repeats 3 --samples 10000
    python bench/overhead.py --cores 2             # unpinned: TensorFlow's two-core speed flips (see below)

By default both sides run on one core with one TensorFlow thread (``--cores 1``: ``taskset -c 0`` and
``TF_NUM_INTRAOP_THREADS=TF_NUM_INTEROP_THREADS=1``): on 2 cores, TensorFlow epochs flip between two-core
and one-core speed (2.8 s vs 5 s here), and two threads pinned to one core spin against each other
(10 s epochs), so only the single-thread setting gives ratios that a 3% target can be read from.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import child_env  # noqa: E402
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
    model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        callbacks=[EpochClock(clock)],
    )


def run_side(
    side: str, clock: Path, samples: int, epochs: int, batch_size: int, workdir: Path, cores: int, extra: list[str]
) -> list[float]:
    env = child_env()
    pin = []
    if cores == 1:
        env.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
        pin = ["taskset", "-c", "0"]
    if side == "plain":
        cmd = [
            sys.executable,
            __file__,
            "--plain",
            str(clock),
            "--samples",
            str(samples),
            "--epochs",
            str(epochs),
            "--batch-size",
            str(batch_size),
        ]
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
    subprocess.run([*pin, *cmd], cwd=workdir, env=env, check=True, capture_output=True, text=True)
    return epoch_periods(clock)[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10000, help="synthetic examples (80%% train)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="processes per side, alternating")
    parser.add_argument("--cores", type=int, choices=(1, 2), default=1, help="1: pinned, one thread (stable)")
    parser.add_argument("--extra", nargs="*", default=[], help="overrides for the dltool side")
    parser.add_argument("--plain", metavar="CLOCK", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        plain_keras(args.plain, args.samples, args.epochs, args.batch_size)
        return

    periods: dict[str, list[float]] = {"plain": [], "dltool": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for side in ("dltool", "plain") if i % 2 else ("plain", "dltool"):
                clock = Path(tmp) / f"{side}{i}.json"
                got = run_side(
                    side, clock, args.samples, args.epochs, args.batch_size, Path(tmp), args.cores, args.extra
                )
                periods[side] += got
                print(f"{side:>6} run {i + 1}: " + " ".join(f"{p:.2f}" for p in got), flush=True)
    plain, dltool = (statistics.median(periods[s]) for s in ("plain", "dltool"))
    print(f"\nsteady-state epoch time, median (min) over {len(periods['plain'])} epochs per side:")
    print(f"| plain Keras | {plain:.3f} s ({min(periods['plain']):.3f}) |")
    print(f"| dltool train | {dltool:.3f} s ({min(periods['dltool']):.3f}) |")
    print(
        f"| ratio dltool/plain | {dltool / plain:.3f} (min/min {min(periods['dltool']) / min(periods['plain']):.3f}) |"
    )


if __name__ == "__main__":
    main()
