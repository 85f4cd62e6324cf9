"""Peak memory (RSS) of ``dltool train`` against the size of its data, CIFAR-shaped.

    python bench/memory.py                          # 1,000 to 60,000 images (CIFAR-10's size), one epoch each
    python bench/memory.py --sizes 1000 60000 --model cnn_cifar

Each size is one ``dltool train data=synthetic data.input_shape=[32,32,3] data.num_samples=N`` process
(one epoch, every artifact written); its peak resident set size is read from ``getrusage`` by a small
parent process of its own, so that the runs do not mix. The data's size is that of its float32 arrays,
all splits (images 32x32x3: 12,288 bytes each; CIFAR-10's 60,000 are 703 MiB).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import child_env  # noqa: E402

IMAGE_BYTES = 32 * 32 * 3 * 4


def peak_rss_mb(samples: int, model: str) -> float:
    """Peak RSS of one dltool run, in MiB (run in a fresh parent process: ``RUSAGE_CHILDREN`` keeps a maximum)."""
    cmd = [
        sys.executable,
        "-m",
        "dltool",
        "train",
        f"model={model}",
        "data=synthetic",
        f"data.num_samples={samples}",
        "data.input_shape=[32,32,3]",
        "data.num_classes=10",
        "trainer.epochs=1",
        "trainer.batch_size=128",
        "hydra.run.dir=run",
    ]
    env = child_env()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(cmd, cwd=tmp, env=env, check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 30000, 60000])
    parser.add_argument("--model", default="cnn_cifar")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(peak_rss_mb(args.one, args.model))
        return
    print("| images | data (float32) | peak RSS | peak RSS − smallest run | extra / data |")
    print("| --- | --- | --- | --- | --- |")
    base = None
    for n in args.sizes:
        one = [sys.executable, __file__, "--one", str(n), "--model", args.model]
        peak = float(subprocess.run(one, check=True, capture_output=True, text=True).stdout.split()[-1])
        data_mb = n * IMAGE_BYTES / 2**20
        base = peak if base is None else base
        extra = f"{(peak - base) / (data_mb - args.sizes[0] * IMAGE_BYTES / 2**20):.2f}" if peak != base else "-"
        print(f"| {n:,} | {data_mb:.0f} MiB | {peak:.0f} MiB | {peak - base:.0f} MiB | {extra} |", flush=True)


if __name__ == "__main__":
    main()
