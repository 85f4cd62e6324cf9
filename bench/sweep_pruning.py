"""Hyperband pruning vs no pruning: the same ``dltool sweep`` (space, sampler seed, trials) with each pruner.

Each round runs one sweep of each side, in turn (none, hyperband, none, hyperband, ...). Reports, for each
side, the trials by state, the epochs trained in total (the resource pruning saves), the best value of the
metric and the test accuracy of the best trial, and wall time, as median (min–max) over the rounds; and the
ratios hyperband / none of epochs and of wall time, taken per round. Every trial is a ``dltool train`` run, and
both sides pay the same start-up and per-trial overhead (a worker process per slot imports TensorFlow once):
epochs, not seconds, are what pruning saves here. A sweep that fails is reported (exit code, the end of its
stderr) and the rest go on.

    python bench/sweep_pruning.py                          # about 20 minutes on 2 cores
    python bench/sweep_pruning.py --trials 20 --epochs 27 --rounds 3
    python bench/sweep_pruning.py --trials 3 --epochs 3 --rounds 2      # smoke
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import child_env, interleaved, median_range, paired_ratios, run_side_process  # noqa: E402


def sweep(workdir: Path, pruner: str, name: str, trials: int, epochs: int, seed: int) -> dict:
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
        f"name={name}",
    ]
    start = time.perf_counter()
    run_side_process(command, workdir, child_env())
    wall = time.perf_counter() - start
    (sweep_dir,) = (workdir / "outputs" / "sweeps").glob(f"*/*_{name}")
    rows = list(csv.DictReader((sweep_dir / "trials.csv").open()))
    complete = [r for r in rows if r["state"] == "complete"]
    best = max(complete, key=lambda r: float(r["best_val_accuracy"]))
    return {
        "complete": len(complete),
        "pruned": sum(r["state"] == "pruned" for r in rows),
        "epochs": sum(int(r["epochs_run"] or 0) for r in rows),
        "best_val_accuracy": float(best["best_val_accuracy"]),
        "test_accuracy": float(best["test_accuracy"]),
        "wall_s": wall,
    }


COLUMNS = {  # summary key: (column, format)
    "complete": ("complete", ".0f"),
    "pruned": ("pruned", ".0f"),
    "epochs": ("epochs trained", ".0f"),
    "best_val_accuracy": ("best val accuracy", ".4f"),
    "test_accuracy": ("its test accuracy", ".4f"),
    "wall_s": ("wall time, s", ".0f"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2, help="sweeps per pruner, interleaved")
    args = parser.parse_args()
    pruners = ("none", "hyperband")
    summaries: dict[str, list[dict | None]] = {p: [] for p in pruners}

    def measure(pruner: str, workdir: Path) -> float:
        summaries[pruner].append(None)  # stays None if the sweep fails
        name = f"{pruner}-{len(summaries[pruner])}"  # one sweep folder per round
        summaries[pruner][-1] = sweep(workdir, pruner, name, args.trials, args.epochs, args.seed)
        print(f"{name}: {summaries[pruner][-1]}", flush=True)
        return summaries[pruner][-1]["wall_s"]

    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        interleaved({p: partial(measure, p, Path(tmp)) for p in pruners}, args.rounds)
    print(f"load average at end: {os.getloadavg()}")
    print(f"\n{args.rounds} rounds of {args.trials} trials of at most {args.epochs} epochs, sampler seed {args.seed}")
    print("each figure: median (min–max) over the rounds\n")
    print("| pruner | " + " | ".join(column for column, _ in COLUMNS.values()) + " |")
    print("| --- " * (len(COLUMNS) + 1) + "|")
    for pruner, got in summaries.items():
        done = [s for s in got if s is not None]
        cells = [median_range([s[key] for s in done], fmt) for key, (_, fmt) in COLUMNS.items()]
        print(f"| {pruner} | " + " | ".join(cells) + " |")

    def figure(pruner: str, key: str) -> list[float | None]:
        return [s[key] if s else None for s in summaries[pruner]]

    print()
    for key, label in (("epochs", "epochs"), ("wall_s", "wall time")):
        ratios = paired_ratios(figure("hyperband", key), figure("none", key))
        print(f"{label}, hyperband / none, per round: {median_range(ratios, '.0%')}")


if __name__ == "__main__":
    main()
