"""Time to an answer: help, and the mistakes that need no model, against ``python -c "import tensorflow"``.

Each round runs every command once, in turn, beside one ``import tensorflow``; the ratio to that import is taken
per round, and the median (min–max) of those ratios is printed with each command's median wall time. Goals:
``dltool --help`` ≤ 10% of the import; each mistake answered before TensorFlow is imported (ratio well under 1).
The mistakes' inputs are made in a temporary folder: a run directory whose checkpoint is truncated, a folder with
a file that is no image, a missing ``.npy`` file.

    python bench/startup.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from omegaconf import OmegaConf

from bench import child_env, interleaved, median_range, paired_ratios
from dltool.config import compose

DLTOOL = [sys.executable, "-m", "dltool"]


def make_inputs(folder: Path) -> dict[str, Path]:
    """A run directory with a truncated best.keras, one with an intact (empty) one, and a folder of two classes
    whose files are no images."""
    runs = {}
    for name, intact in (("corrupt_run", False), ("run", True)):
        run_dir = folder / name
        (run_dir / ".hydra").mkdir(parents=True)
        OmegaConf.save(compose([]), run_dir / ".hydra" / "config.yaml")  # the default run's config
        (run_dir / "checkpoints").mkdir()
        checkpoint = run_dir / "checkpoints" / "best.keras"
        if intact:
            with zipfile.ZipFile(checkpoint, "w") as archive:
                archive.writestr("config.json", "{}")
        else:
            checkpoint.write_bytes(b"PK\x03\x04 cut short")
        runs[name] = run_dir
    for label in ("a", "b"):
        (folder / "images" / label).mkdir(parents=True)
        (folder / "images" / label / "x.png").write_text("no image")
    return {**runs, "images": folder / "images"}


def commands(inputs: dict[str, Path]) -> dict[str, list[str]]:
    return {
        "dltool --help": [*DLTOOL, "--help"],
        "dltool train --help": [*DLTOOL, "train", "--help"],
        "train with an unknown key (hidden_units=[8])": [*DLTOOL, "train", "hidden_units=[8]"],
        "predict a missing file": [*DLTOOL, "predict", str(inputs["run"]), "missing.npy"],
        "evaluate a truncated checkpoint": [*DLTOOL, "evaluate", str(inputs["corrupt_run"])],
        "train model=cnn data=function": [*DLTOOL, "train", "model=cnn", "data=function"],
        "train data.on_bad_file=error on a non-image": [
            *DLTOOL,
            "train",
            "data=image_folder",
            f"data.root={inputs['images']}",
            "data.on_bad_file=error",
        ],
    }


def wall_time(cmd: list[str], cwd: Path, expected_code: int) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=child_env())
    seconds = time.perf_counter() - start
    if done.returncode != expected_code:
        raise RuntimeError(f"exit {done.returncode}, expected {expected_code}: {done.stderr.strip()[-300:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sides = {
            name: (lambda cmd=cmd: wall_time(cmd, folder, 0 if "--help" in cmd else 2))
            for name, cmd in commands(make_inputs(folder)).items()
        }
        reference = 'python -c "import tensorflow"'
        sides[reference] = lambda: wall_time([sys.executable, "-c", "import tensorflow"], folder, 0)
        figures = interleaved(sides, args.rounds)
    print("| command | wall time, median (min–max) | / import tensorflow, per round: median (min–max) |")
    print("| --- | --- | --- |")
    for name, times in figures.items():
        done = [t for t in times if t is not None]
        ratio = "" if name == reference else median_range(paired_ratios(times, figures[reference]), ".1%")
        print(f"| {name} | {median_range(done)} s | {ratio} |")
    print(f"\n{args.rounds} rounds; the import's median {statistics.median(t for t in figures[reference] if t):.3f} s")


if __name__ == "__main__":
    main()
