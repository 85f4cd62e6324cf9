"""Hyperband pruning vs no pruning: the same ``dltool sweep`` (space, sampler seed, trials), twice.

Reports, for each side, the trials by state, the epochs trained in total (the resource pruning
saves), the best value of the metric and the test accuracy of the best trial, and wall time.
Every trial is a ``dltool train`` process, so TensorFlow's start-up (~6-20 s on 2 cores) is paid
per trial by both sides alike: epochs, not seconds, are what pruning saves here.

    python bench/sweep_pruning.py                          # about 10 minutes on 2 cores
    python bench/sweep_pruning.py --trials 20 --epochs 27
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import child_env  # noqa: E402


def sweep(workdir: Path, pruner: str, trials: int, epochs: int, seed: int) -> dict:
    """One ``dltool sweep`` of the default space on digits; its trials.csv, summed up."""
    command = [
        sys.executable,
        "-m",
        "dltool",
        "sweep",
        f"sweep.pruner={pruner}",
        f"sweep.n_trials={trials}",
        f"sweep.seed={seed}",
        f"trainer.epochs={epochs}",
        "callbacks.tensorboard.enabled=false",
        "callbacks.early_stopping.enabled=false",  # epochs saved are the pruner's alone
        f"name={pruner}",
    ]
    env = child_env()
    start = time.perf_counter()
    subprocess.run(command, cwd=workdir, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    (sweep_dir,) = (workdir / "outputs" / "sweeps").glob(f"*/*_{pruner}")
    rows = list(csv.DictReader((sweep_dir / "trials.csv").open()))
    complete = [r for r in rows if r["state"] == "complete"]
    best = max(complete, key=lambda r: float(r["best_val_accuracy"]))
    return {
        "pruner": pruner,
        "complete": len(complete),
        "pruned": sum(r["state"] == "pruned" for r in rows),
        "epochs": sum(int(r["epochs_run"] or 0) for r in rows),
        "best_val_accuracy": float(best["best_val_accuracy"]),
        "test_accuracy": float(best["test_accuracy"]),
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sides = [sweep(Path(tmp), p, args.trials, args.epochs, args.seed) for p in ("none", "hyperband")]
    print(f"{args.trials} trials of at most {args.epochs} epochs, sampler seed {args.seed}\n")
    print("| pruner | complete | pruned | epochs trained | best val accuracy | its test accuracy | wall time |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for s in sides:
        print(
            f"| {s['pruner']} | {s['complete']} | {s['pruned']} | {s['epochs']} | {s['best_val_accuracy']:.4f} "
            f"| {s['test_accuracy']:.4f} | {s['wall_s']:.0f} s |"
        )
    print(f"\nepochs, hyperband / none: {sides[1]['epochs'] / sides[0]['epochs']:.0%}")


if __name__ == "__main__":
    main()
