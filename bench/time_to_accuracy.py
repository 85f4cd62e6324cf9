"""Time to accuracy of ``experiment=cifar10_fast`` on the CIFAR-10 JPEG copy, over several seeds, against airbench94.

    python bench/time_to_accuracy.py /work/shared/data/cifar10-jpg.tar.gz --seeds 5
    python bench/time_to_accuracy.py cifar10-jpg/ --seeds 5 --lean          # an extracted copy; no per-epoch files
    python bench/time_to_accuracy.py /work/shared/data/cifar10-jpg.tar.gz --smoke   # CPU check of the mechanics

Each seed is one ``dltool train experiment=cifar10_fast trainer.backend=jax trainer.seed=S`` in its own process
(so each pays its own compilation, as a user's run does). The JPEGs (``train/<class>/*.jpg``,
``test/<class>/*.jpg``, read straight from the ``.tar.gz`` or from an extracted folder) are decoded once with
Pillow into CIFAR-10's own archive layout (``cifar-10-batches-py/``: pickled batches of channel-first rows) in a
temporary folder, and the runs read it with ``data=cifar10 data.root=...`` (the preset's data source): the GPU
machine has no TensorFlow, which dltool's image-folder decoder needs. The 32x32 files are decoded as they are
(no resize). Pillow's pixels are not TensorFlow's (``data=image_folder``): on the first 500 files of the archive
every image differed, by at most 5 levels of 255 (JPEG decoders may round the inverse DCT and the colour
upsampling differently).

What is reported per run, and how the compilation is kept out:

- test accuracy: ``results.json``'s ``test_accuracy`` (10,000 test images, no test-time augmentation);
- warm-up s: the first epoch's period minus the median of the other epochs' periods, both from
  ``bench/epoch_clock.py`` (added last among the callbacks): what the first epoch costs beyond a steady one,
  i.e. tracing and XLA compilation of the training step (and of its partial last batch), the first copy of the
  data to the device and any first-time autotuning;
- training s: the sum of all epoch periods minus that warm-up (the first epoch counted at the steady rate): the
  figure to set against airbench94's 2.15 s, which is timed after its own warm-up run compiled its kernels.
  It includes whatever the run does at each epoch end (checkpoints, metrics CSV, backups, unless ``--lean``);
  it excludes process start, data loading, the final test evaluation and the plots;
- epochs wall s: ``results.json``'s ``train_time_s`` (the epochs' own clock, warm-up included).

This estimate assumes the first epoch's steady part runs at the later epochs' speed; running every seed twice in
one process would measure it directly, but dltool's CLI starts a fresh process (and compilation) per run.

``--lean`` adds ``callbacks.checkpoint.save_best/save_last=false callbacks.tensorboard.enabled=false
callbacks.backup_and_restore=false`` (airbench writes nothing during training); without it the preset runs as a
user runs it. ``--override KEY=VALUE`` (repeatable) passes more overrides to every run.

On a lent H100 (device tool). The device machine has no TensorFlow and cannot reach ``/work/shared``: Keras and
dltool's pure-Python needs travel as wheels (see ``bench/gpu.py``'s docstring for the one-time ``pip download``
into ``.whl/``), and the 19.6 MB tar travels in an ignored folder of the checkout, both named in ``carry``
(about 22 MB in all, under the 64 MiB limit). Once, in the repository root here:

    mkdir -p .data && cp /work/shared/data/cifar10-jpg.tar.gz .data/   # .data/ is in .gitignore

then one ``run`` with ``carry: [".whl", ".data"]`` and ``timeout_s: 600`` (5 seeds: an estimate of 5 minutes, not
yet measured, each run's start, compilation and evaluation outweighing its ~10 epochs; the JSON is rewritten after
every seed, so a command stopped at its limit keeps the seeds done):

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \\
        .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 || exit; \\
        set -o pipefail; python3 bench/time_to_accuracy.py .data/cifar10-jpg.tar.gz --seeds 5 --json $OUT/tta.json \\
        2>&1 | tee $OUT/tta.log

and a second ``run`` with ``--lean`` (``tta-lean.json``, ``tta-lean.log``) for the figure without per-epoch files.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KERAS_BACKEND", "jax")  # the epoch clock imports Keras; the GPU machine has no TensorFlow

from bench import child_env  # noqa: E402
from bench.epoch_clock import epoch_periods, warmup_and_steady  # noqa: E402
from bench.gpu import NO_CHECKPOINTS  # noqa: E402
from dltool.data.archives import CIFAR10_BATCHES, CIFAR10_NAMES  # noqa: E402

LEAN = (*NO_CHECKPOINTS, "callbacks.tensorboard.enabled=false", "callbacks.backup_and_restore=false")
SMOKE = ("trainer.epochs=2", "trainer.batch_size=50", "optimizer.schedule.warmup_epochs=1")
SMOKE_PER_CLASS = {"train": 10, "test": 5}
# airbench94 on this JPEG copy (measured with its own PyTorch code): test accuracy with / without test-time
# augmentation, median training time on an H100
AIRBENCH = {"accuracy_tta": 0.9062, "accuracy": 0.897, "train_s": 2.15}


def jpeg_files(source: Path, per_class: dict[str, int] | None = None) -> Iterator[tuple[str, int, bytes]]:
    """``(split, label, JPEG bytes)`` of every ``<split>/<class>/<file>.jpg`` in a ``.tar.gz`` or a folder,
    at most ``per_class[split]`` files per class when given (in name order for a folder, archive order for a tar)."""
    seen: dict[tuple[str, int], int] = {}

    def wanted(name: str) -> tuple[str, int] | None:
        parts = name.split("/")
        if len(parts) < 3 or parts[-3] not in ("train", "test") or parts[-2] not in CIFAR10_NAMES:
            return None
        key = (parts[-3], CIFAR10_NAMES.index(parts[-2]))
        if per_class and seen.get(key, 0) >= per_class[key[0]]:
            return None
        seen[key] = seen.get(key, 0) + 1
        return key

    if source.is_dir():
        for path in sorted(source.rglob("*.jpg")):
            key = wanted(path.relative_to(source).as_posix())
            if key:
                yield *key, path.read_bytes()
        return
    with tarfile.open(source) as tar:
        for member in tar:
            key = wanted(member.name) if member.isfile() else None
            if key:
                yield *key, tar.extractfile(member).read()


def decode(jpeg: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as image:
        pixels = np.asarray(image.convert("RGB"))
    if pixels.shape != (32, 32, 3):
        raise SystemExit(f"a {pixels.shape} image: CIFAR-10 JPEGs are 32x32 RGB")
    return pixels


def write_cifar_archive(source: Path, folder: Path, per_class: dict[str, int] | None = None) -> dict[str, int]:
    """Decode the JPEGs of ``source`` into ``folder/cifar-10-batches-py`` (``data=cifar10``'s layout); returns the
    image count per split. The training images are shuffled (seed 0) before being cut into the five batches."""
    files = list(jpeg_files(source, per_class))
    with ThreadPoolExecutor(os.cpu_count()) as pool:  # Pillow decodes without the GIL
        images = list(pool.map(decode, (jpeg for _, _, jpeg in files)))
    out = folder / "cifar-10-batches-py"
    out.mkdir(parents=True)
    counts = {}
    for split in ("train", "test"):
        rows = [i for i, (s, _, _) in enumerate(files) if s == split]
        if not rows:
            raise SystemExit(f"{source}: no {split}/<class>/*.jpg files (classes {', '.join(CIFAR10_NAMES)})")
        if split == "train":
            rows = list(np.random.default_rng(0).permutation(rows))
        x = np.stack([images[i] for i in rows]).transpose(0, 3, 1, 2).reshape(len(rows), -1)
        labels = [files[i][1] for i in rows]
        names = CIFAR10_BATCHES[:-1] if split == "train" else CIFAR10_BATCHES[-1:]
        for name, part in zip(names, np.array_split(np.arange(len(rows)), len(names)), strict=True):
            batch = {b"data": x[part], b"labels": [labels[i] for i in part]}
            (out / name).write_bytes(pickle.dumps(batch))
        counts[split] = len(rows)
    (out / "batches.meta").write_bytes(pickle.dumps({b"label_names": [n.encode() for n in CIFAR10_NAMES]}))
    return counts


def train_once(data_root: Path, seed: int, workdir: Path, overrides: list[str]) -> dict[str, float]:
    """One ``dltool train experiment=cifar10_fast`` run: its test accuracy and times (see the module docstring)."""
    run_dir, clock = workdir / f"seed{seed}", workdir / f"clock{seed}.json"
    cmd = [
        *(sys.executable, "-m", "dltool", "train", "experiment=cifar10_fast", "trainer.backend=jax"),
        *(f"data.root={data_root}", f"trainer.seed={seed}", f"hydra.run.dir={run_dir}"),
        f"callbacks.custom=[{{_target_: bench.epoch_clock.EpochClock, path: '{clock}'}}]",
        *overrides,
    ]
    done = subprocess.run(cmd, cwd=workdir, env=child_env(), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"seed {seed} failed (exit {done.returncode}):\n{(done.stderr or done.stdout)[-3000:]}")
    results = json.loads((run_dir / "results.json").read_text())
    periods = epoch_periods(clock)
    warmup, _ = warmup_and_steady(periods)
    return {
        "seed": seed,
        "test_accuracy": results["test_accuracy"],
        "train_s": sum(periods) - warmup,
        "warmup_s": warmup,
        "epochs_wall_s": results["train_time_s"],
        "epochs": len(periods),
        "device": str(results.get("device", "")),
        "precision": str(results.get("precision", "")),
    }


def spread(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """``mean ± std`` (sample std; ``mean`` alone for one value)."""
    mean = statistics.mean(values) * scale
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def table(runs: list[dict], label: str) -> str:
    """The Markdown rows for BENCHMARKS.md: every run, dltool's summary and airbench94's reference."""
    lines = [
        "| run | test accuracy (%) | training s, warm-up excluded | warm-up s | epochs wall s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        lines.append(
            f"| seed {run['seed']} | {run['test_accuracy'] * 100:.2f} | {run['train_s']:.2f} | {run['warmup_s']:.1f}"
            f" | {run['epochs_wall_s']:.2f} |"
        )
    accuracy, train = [r["test_accuracy"] for r in runs], [r["train_s"] for r in runs]
    lines.append(
        f"| **{label}**, {len(runs)} seed(s), mean ± std (median training s {statistics.median(train):.2f}) "
        f"| **{spread(accuracy, 100)}** | **{spread(train)}** | {spread([r['warmup_s'] for r in runs], digits=1)} "
        f"| {spread([r['epochs_wall_s'] for r in runs])} |"
    )
    lines.append(
        f"| airbench94 (PyTorch, H100; its own code) | {AIRBENCH['accuracy'] * 100:.1f} without TTA, "
        f"{AIRBENCH['accuracy_tta'] * 100:.2f} with | {AIRBENCH['train_s']:.2f} (median) | excluded | - |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="cifar10-jpg.tar.gz, or the folder holding its train/ and test/")
    parser.add_argument("--seeds", type=int, default=5, help="runs, with trainer.seed 0, 1, ...")
    parser.add_argument("--lean", action="store_true", help="no checkpoints, TensorBoard or backups during training")
    parser.add_argument("--override", action="append", default=[], help="another dltool override, for every run")
    parser.add_argument("--smoke", action="store_true", help="CPU check: 100 + 50 images, 2 epochs, batch 50")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args()
    if not args.data.exists():
        parser.error(f"{args.data}: no such file or folder")
    overrides = [*(LEAN if args.lean else ()), *(SMOKE if args.smoke else ()), *args.override]
    with tempfile.TemporaryDirectory() as tmp:
        counts = write_cifar_archive(args.data, Path(tmp), SMOKE_PER_CLASS if args.smoke else None)
        print(f"{args.data}: {counts['train']} training and {counts['test']} test images decoded", flush=True)
        runs = []
        for seed in range(args.seeds):
            runs.append(train_once(Path(tmp) / "cifar-10-batches-py", seed, Path(tmp), overrides))
            print(json.dumps(runs[-1]), flush=True)
            if args.json:  # after every run: a command stopped at its time limit keeps the runs done
                record = {"overrides": overrides, "runs": runs, "airbench94": AIRBENCH}
                args.json.write_text(json.dumps(record, indent=1))
    first = runs[0]
    label = "`dltool train experiment=cifar10_fast trainer.backend=jax`" + (" (lean)" if args.lean else "")
    print(f"\n{first['device']}, precision {first['precision']}, {first['epochs']} epochs; overrides: {overrides}\n")
    print(table(runs, label))


if __name__ == "__main__":
    main()
