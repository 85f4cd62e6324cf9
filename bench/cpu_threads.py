"""How many cores TensorFlow keeps busy: CPU time over wall time of each epoch of ResNet-20 (CPU).

A ratio of 2 on 2 cores means both were busy for the whole epoch, 1 that the epoch ran on one.
Each setting runs in its own process (plain Keras ``fit`` on NumPy arrays, 1,024 synthetic
CIFAR-shaped images, batch 128, SGD momentum 0.9:
``bench/cpu_peers.py``'s Keras model); the first epoch (tracing) is dropped.

    python bench/cpu_threads.py                          # default, oneDNN off, one inter-op thread
    python bench/cpu_threads.py --epochs 8 --settings default TF_ENABLE_ONEDNN_OPTS=0
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import child_env  # noqa: E402

SETTINGS = ("default", "TF_ENABLE_ONEDNN_OPTS=0", "TF_NUM_INTEROP_THREADS=1")


def epochs_of_resnet(epochs: int, samples: int) -> list[tuple[float, float]]:
    """(samples/s, CPU time / wall time) of each epoch of a plain Keras ResNet-20 fit, in this process."""
    import numpy as np

    from bench.cpu_peers import keras_model

    model = keras_model("resnet")
    rng = np.random.default_rng(0)
    x, y = rng.random((samples, 32, 32, 3), dtype=np.float32), rng.integers(0, 10, samples)

    def cpu_s() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    figures = []
    for _ in range(epochs):
        wall, cpu = time.perf_counter(), cpu_s()
        model.fit(x, y, batch_size=128, epochs=1, verbose=0)
        wall, cpu = time.perf_counter() - wall, cpu_s() - cpu
        figures.append((samples / wall, cpu / wall))
    return figures[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), help="default, or VARIABLE=value")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(epochs_of_resnet(args.epochs, args.samples)))
        return
    print(f"load average at start: {os.getloadavg()}")
    print("| setting | samples/s per epoch | CPU/wall per epoch |\n| --- | --- | --- |")
    for setting in args.settings:
        env = child_env()
        if setting != "default":
            name, value = setting.split("=", 1)
            env[name] = value
        cmd = [sys.executable, __file__, "--child", "--epochs", str(args.epochs), "--samples", str(args.samples)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        rates = ", ".join(f"{rate:.0f}" for rate, _ in figures)
        ratios = ", ".join(f"{ratio:.2f}" for _, ratio in figures)
        print(f"| {setting} | {rates} | {ratios} |", flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
