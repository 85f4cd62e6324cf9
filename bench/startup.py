"""Start-up time of ``dltool --help`` against ``python -c "import tensorflow"`` (target: <= 10%).

python bench/startup.py --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def wall_times(cmd: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cases = {
        "dltool --help": [sys.executable, "-m", "dltool", "--help"],
        "dltool train --help": [sys.executable, "-m", "dltool", "train", "--help"],
        'python -c "import tensorflow"': [sys.executable, "-c", "import tensorflow"],
    }
    medians = {}
    for name, cmd in cases.items():
        times = wall_times(cmd, args.repeats)
        medians[name] = statistics.median(times)
        print(f"| {name} | {medians[name]:.3f} s (min {min(times):.3f}) |", flush=True)
    tf = medians['python -c "import tensorflow"']
    for name in ("dltool --help", "dltool train --help"):
        print(f"| {name} / import tensorflow | {medians[name] / tf:.1%} |")


if __name__ == "__main__":
    main()
