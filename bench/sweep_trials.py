"""Trials in a worker vs a process per trial: the same small ``dltool sweep`` with ``sweep.isolation=worker``
and ``sweep.isolation=process``.

Each round runs one sweep of each side, in turn (worker, process, worker, process, ...): ``sweep=quick`` on
300 digits, one epoch per trial, no pruner, the same sampler seed. A trial's overhead is its duration in the
study (asked to told: start-up, composition, the test evaluation and plots, the bookkeeping) less its
training time (``results.json``'s ``train_time_s``). Reports, per side, the first trial's overhead (a worker
imports TensorFlow then, as a trial process always does), the median overhead of the trials after it, and the
sweep's wall time, as median (min–max) over the rounds; and the ratios worker / process, taken per round.
A sweep that fails is reported (exit code, the end of its stderr) and the rest go on.

    python bench/sweep_trials.py                          # about 5 minutes on 2 cores
    python bench/sweep_trials.py --trials 6 --rounds 3
    python bench/sweep_trials.py --trials 3 --rounds 1    # smoke
"""

from __future__ import annotations

import argparse
import csv
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

SIDES = ("worker", "process")


def sweep(workdir: Path, isolation: str, name: str, trials: int, seed: int) -> dict[str, float]:
    """One ``dltool sweep sweep=quick`` of one-epoch trials; the overheads of its trials and its wall time."""
    command = [
        sys.executable,
        "-m",
        "dltool",
        "sweep",
        "sweep=quick",
        f"sweep.isolation={isolation}",
        f"sweep.n_trials={trials}",
        f"sweep.seed={seed}",
        "sweep.pruner=none",
        "trainer.epochs=1",
        f"name={name}",
    ]
    start = time.perf_counter()
    run_side_process(command, workdir, child_env())
    wall = time.perf_counter() - start
    (sweep_dir,) = (workdir / "outputs" / "sweeps").glob(f"*/*_{name}")
    rows = sorted(csv.DictReader((sweep_dir / "trials.csv").open()), key=lambda r: int(r["number"]))
    overheads = [float(r["duration_s"]) - float(r["train_time_s"]) for r in rows if r["state"] == "complete"]
    if len(overheads) != trials:
        raise RuntimeError(f"{len(overheads)} of {trials} trials completed, see {sweep_dir}")
    return {"first_s": overheads[0], "after_s": statistics.median(overheads[1:]), "wall_s": wall}


COLUMNS = {  # summary key: (column, format)
    "first_s": ("first trial's overhead, s", ".2f"),
    "after_s": ("overhead per trial after it, s", ".2f"),
    "wall_s": ("sweep wall time, s", ".1f"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2, help="sweeps per side, interleaved")
    args = parser.parse_args()
    summaries: dict[str, list[dict | None]] = {side: [] for side in SIDES}

    def measure(side: str, workdir: Path) -> float:
        summaries[side].append(None)  # stays None if the sweep fails
        name = f"{side}-{len(summaries[side])}"  # one sweep folder per round
        summaries[side][-1] = sweep(workdir, side, name, args.trials, args.seed)
        print(f"{name}: {summaries[side][-1]}", flush=True)
        return summaries[side][-1]["wall_s"]

    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        interleaved({side: partial(measure, side, Path(tmp)) for side in SIDES}, args.rounds)
    print(f"load average at end: {os.getloadavg()}")
    print(f"\n{args.rounds} rounds of {args.trials} one-epoch trials (sweep=quick), sampler seed {args.seed}")
    print("each figure: median (min–max) over the rounds\n")
    print("| sweep.isolation | " + " | ".join(column for column, _ in COLUMNS.values()) + " |")
    print("| --- " * (len(COLUMNS) + 1) + "|")
    for side, got in summaries.items():
        done = [s for s in got if s is not None]
        cells = [median_range([s[key] for s in done], fmt) for key, (_, fmt) in COLUMNS.items()]
        print(f"| {side} | " + " | ".join(cells) + " |")

    def figure(side: str, key: str) -> list[float | None]:
        return [s[key] if s else None for s in summaries[side]]

    print()
    for key, label in (("after_s", "overhead per trial after the first"), ("wall_s", "sweep wall time")):
        ratios = paired_ratios(figure("worker", key), figure("process", key))
        print(f"{label}, worker / process, per round: {median_range(ratios, '.0%')}")


if __name__ == "__main__":
    main()
