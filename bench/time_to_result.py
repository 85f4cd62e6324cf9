"""Time to result: a whole ``dltool train`` command against the same job written as a plain Keras script.

The job: scikit-learn's digits (8x8 images, 1,797 examples: 70% train, 10% validation, 20% test), an MLP of two
64-unit ReLU layers, Adam, batch 32, ``--epochs`` epochs, the test split scored, the model saved. The dltool side
is ``dltool train`` with its defaults (``trainer.epochs=N``), which also writes its run directory (metrics, plots,
checkpoints, TensorBoard events). Two figures per process, both from the moment the process is started:

- **whole**: until the process exits;
- **first epoch**: until the first epoch ends (``bench/epoch_clock.py``'s marks, on the wall clock).

Each round runs one process of each side, in turn (plain, dltool, plain, dltool, ...); the ratio dltool / plain is
taken per round and the median (min–max) of those ratios is printed. Goals: whole ≤ 1.10, first epoch ≤ 1.05.

    python bench/time_to_result.py --rounds 5
    python bench/time_to_result.py --rounds 3 --epochs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import child_env, interleaved, median_range, paired_ratios, run_side_process  # noqa: E402

GOALS = {"whole": 1.10, "first epoch": 1.05}


def plain_keras(clock: str, epochs: int, workdir: str) -> None:
    """The plain script a Keras user writes for this job."""
    import keras
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from bench.epoch_clock import WallClock

    digits = load_digits()
    x = (digits.images[..., None] / 16.0).astype("float32")
    x_rest, x_test, y_rest, y_test = train_test_split(x, digits.target, test_size=0.2, random_state=0)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=0.125, random_state=0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
            keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        batch_size=32,
        epochs=epochs,
        verbose=0,
        callbacks=[WallClock(clock)],
    )
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    model.save(Path(workdir) / "plain.keras")
    print(f"test accuracy {accuracy:.3f} on {np.size(y_test)} examples")


def run_side(side: str, epochs: int, workdir: Path) -> tuple[float, float]:
    """(whole, first epoch) seconds of one process of ``side``, from its start."""
    clock = workdir / f"{side}.json"
    clock.unlink(missing_ok=True)  # a failed process must not leave the previous round's marks to be read
    if side == "plain":
        cmd = [sys.executable, __file__, "--plain", str(clock), "--epochs", str(epochs), "--workdir", str(workdir)]
    else:
        cmd = [
            *(sys.executable, "-m", "dltool", "train", f"trainer.epochs={epochs}"),
            f"callbacks.custom=[{{_target_: bench.epoch_clock.WallClock, path: '{clock}'}}]",
        ]
    start = time.time()
    run_side_process(cmd, workdir, child_env())
    whole = time.time() - start
    first_epoch = json.loads(clock.read_text())[1] - start
    print(f"{side:>6}: whole {whole:.2f} s, first epoch {first_epoch:.2f} s", flush=True)
    return whole, first_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="processes per side, interleaved")
    parser.add_argument("--plain", metavar="CLOCK", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        plain_keras(args.plain, args.epochs, args.workdir)
        return

    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        sides = {side: partial(run_side, side, args.epochs, Path(tmp)) for side in ("plain", "dltool")}
        figures = interleaved(sides, args.rounds)
    print(f"load average at end: {os.getloadavg()}")
    print(f"\n{args.rounds} rounds, {args.epochs} epoch(s) on digits")
    print("| figure | plain Keras, median (min–max) | dltool train | dltool / plain, per round |")
    print("| --- | --- | --- | --- |")
    for index, name in enumerate(GOALS):
        plain = [f[index] if f else None for f in figures["plain"]]
        ours = [f[index] if f else None for f in figures["dltool"]]
        ratios = paired_ratios(ours, plain)
        verdict = "met" if ratios and statistics.median(ratios) <= GOALS[name] else "not met"
        cells = [median_range([v for v in side if v is not None]) for side in (plain, ours)]
        print(f"| {name} | {cells[0]} s | {cells[1]} s | {median_range(ratios)}: ≤ {GOALS[name]} {verdict} |")


if __name__ == "__main__":
    main()
