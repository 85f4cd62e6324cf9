"""GPU training throughput, dltool against plain Keras and PyTorch, on ResNet-20 (batch 512) and airbench94's
network (batch 1024), float32 and bfloat16, CIFAR-shaped synthetic data, in one run.

Sides (each in its own process, one after the other, for each network and precision):

- ``dltool-no-ckpt`` (and ``dltool``, only when named in ``--sides``): ``dltool train trainer.backend=jax`` with
  ``callbacks=minimal`` (metrics CSV, no TensorBoard or backups, no validation split) without (with) the
  per-epoch checkpoints ``callbacks.checkpoint.save_best/save_last``;
- ``keras``: plain Keras 3 + JAX ``fit`` on NumPy arrays, on the very model dltool builds;
- ``torch``: the same network written in PyTorch (``bench/torch_nets.py``), eager;
- ``torch-compile``: ``torch.compile`` without CUDA graphs (mode ``default``; ``--autotune``:
  ``max-autotune-no-cudagraphs``), the optimizer step compiled too;
- ``torch-cudagraphs``: the same with CUDA graphs (mode ``reduce-overhead``; ``--autotune``: ``max-autotune``).
  If inductor skips the graphs (its ``cudagraph_skips`` counter), a note under the table says so.

Same for all sides: SGD Nesterov (momentum 0.9, rate 0.1), a new shuffle every epoch, equal-size batches.
PyTorch keeps the whole data set on the GPU in channels-last and gathers each batch there (its best case), with
``cudnn.benchmark`` on and TF32 matrix products allowed (XLA's default for float32); bf16 is ``torch.autocast``.
Each side records when each epoch ends (``bench/epoch_clock.py`` for Keras; the same marks by hand for PyTorch).
Images/s are the median of the epochs after the first; "warm-up s" is the first epoch minus that median
(tracing, compilation, autotuning, graph capture). Training FLOPs per image are counted by PyTorch's
FlopCounterMode on one forward+backward pass of each network, and compared with the card's bf16 matrix rate
measured in the same run.

On a lent H100 (device tool; no TensorFlow there: Keras and dltool's pure-Python needs travel as wheels, 3.2 MB).
Once, in the repository root of this machine (``.whl/`` is in .gitignore; Python 3.12 wheels for the device
machine; antlr4-python3-runtime 4.9.3, which omegaconf 2.3 pins, exists only as a source archive, so it is built):

    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \\
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \\
        keras==3.15.1 namex==0.1.0 optree==0.20.0 hydra-core==1.3.8 omegaconf==2.3.1 pydot==4.0.1
    python3 -m pip wheel --no-deps -w .whl antlr4-python3-runtime==4.9.3

then one ``run`` per network (``carry: [".whl"]``, ``timeout_s: 600``; each about 5 to 8 minutes, mostly process
starts and compilations: 2 precisions x 5 sides, each side a fresh process):

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \\
        .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 || exit; \\
        set -o pipefail; python3 bench/gpu.py --models resnet 2>&1 | tee $OUT/gpu-resnet.log

and the same with ``--models airbench`` (``gpu-airbench.log``). Each row is printed as soon as it is measured,
so a command stopped at its limit still returns the rows done. Both networks in one command (``python3
bench/gpu.py``, the default) would outrun the limit; ``--autotune`` adds minutes of kernel search per compiled
side, so give it one network and one precision per command (``--precisions mixed_bfloat16``).

CPU smoke test of the mechanics (tiny sizes; the CUDA-graphs side and the matmul peak are skipped):

    python bench/gpu.py --device cpu --samples 256 --epochs 2 --batch 64 --precisions float32 \\
        --sides dltool keras torch torch-compile
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KERAS_BACKEND", "jax")  # the Keras sides run on JAX; there is no TensorFlow on the GPU machine

from bench import child_env, cpu_peers  # noqa: E402
from bench.epoch_clock import epoch_periods, warmup_and_steady  # noqa: E402
from bench.torch_nets import PARAMS, torch_net, trainable_params  # noqa: E402

BATCH = {"resnet": 512, "airbench": 1024}
LEARNING_RATE = 0.1
PRECISIONS = ("float32", "mixed_bfloat16")
NO_CHECKPOINTS = ("callbacks.checkpoint.save_best=false", "callbacks.checkpoint.save_last=false")
COMPILE_MODES = {  # side -> (mode, mode with --autotune); None: eager
    "torch": (None, None),
    "torch-compile": ("default", "max-autotune-no-cudagraphs"),
    "torch-cudagraphs": ("reduce-overhead", "max-autotune"),
}
SIDES = {
    "dltool": "`dltool train trainer.backend=jax` (checkpoints every epoch)",
    "dltool-no-ckpt": "`dltool train trainer.backend=jax`, no per-epoch checkpoints",
    "keras": "plain Keras 3 + JAX `fit`, same model",
    "torch": "PyTorch eager, data on the device",
    "torch-compile": "PyTorch `torch.compile`, no CUDA graphs",
    "torch-cudagraphs": "PyTorch `torch.compile` with CUDA graphs",
}
CUDA_ONLY = ("torch-cudagraphs",)
NOTE = "gpu.py note: "  # a side's stdout lines that start so are printed under the table


@dataclass(frozen=True)
class Job:
    """One side's training: which network, how much data, what precision and batch, on which device."""

    model: str
    samples: int
    epochs: int
    precision: str
    batch: int
    device: str
    autotune: bool = False

    def arguments(self) -> list[str]:
        """This job as ``bench/gpu.py`` options (for a side's own process)."""
        return [
            *("--models", self.model, "--samples", str(self.samples), "--epochs", str(self.epochs)),
            *("--precisions", self.precision, "--batch", str(self.batch), "--device", self.device),
            *(["--autotune"] if self.autotune else []),
        ]


def dltool_command(job: Job, clock: Path, checkpoints: bool) -> list[str]:
    return [
        *(sys.executable, "-m", "dltool", "train", "trainer.backend=jax", f"model={job.model}"),
        *cpu_peers.data_overrides(job.samples),
        *(f"trainer.batch_size={job.batch}", f"trainer.epochs={job.epochs}", f"trainer.precision={job.precision}"),
        *("optimizer=nesterov", f"optimizer.learning_rate={LEARNING_RATE}", "callbacks=minimal"),
        f"callbacks.custom=[{{_target_: bench.epoch_clock.EpochClock, path: '{clock}'}}]",
        *(() if checkpoints else NO_CHECKPOINTS),
    ]


def plain_keras(job: Job, clock: str) -> None:
    """Plain Keras ``fit`` (JAX backend) on the very model and arrays dltool trains on, with only the epoch clock."""
    import keras

    from bench.epoch_clock import EpochClock

    x, y = cpu_peers.synthetic(job.samples)
    keras.mixed_precision.set_global_policy(job.precision)
    model = cpu_peers.keras_model(job.model, keras.optimizers.SGD(LEARNING_RATE, momentum=0.9, nesterov=True))
    model.fit(x, y, batch_size=job.batch, epochs=job.epochs, verbose=0, callbacks=[EpochClock(clock)])


def plain_torch(job: Job, clock: str, side: str) -> None:
    """The PyTorch side ``side`` (eager, compiled, compiled with CUDA graphs): writes each epoch's end to ``clock``."""
    import torch
    import torch.nn.functional as F

    device = torch.device(job.device)
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    torch.set_float32_matmul_precision("high")  # TF32 on the GPU, as XLA does by default for float32
    model = torch_net(job.model).to(device, memory_format=torch.channels_last)
    assert trainable_params(model) == PARAMS[job.model]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=LEARNING_RATE, momentum=0.9, nesterov=True)
    mode = COMPILE_MODES[side][job.autotune]
    forward, step = model, optimizer.step
    if mode:
        forward = torch.compile(model, mode=mode)
        step = torch.compile(lambda: optimizer.step())  # fused updates instead of a few launches per parameter group
    graphs = side == "torch-cudagraphs"
    x = torch.randn(job.samples, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (job.samples,), device=device)
    bf16 = job.precision == "mixed_bfloat16"
    steps = job.samples // job.batch

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    sync()
    marks = [time.perf_counter()]
    for _ in range(job.epochs):
        order = torch.randperm(job.samples, device=device)
        for i in range(steps):
            if graphs:
                torch.compiler.cudagraph_mark_step_begin()  # the previous step's graph outputs are dead
            idx = order[i * job.batch : (i + 1) * job.batch]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(forward(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            step()
        sync()
        marks.append(time.perf_counter())
    Path(clock).write_text(json.dumps(marks))
    if graphs:
        from torch._dynamo.utils import counters

        skips = counters["inductor"]["cudagraph_skips"]
        if skips:
            print(f"{NOTE}{job.model} {job.precision}: inductor skipped CUDA graphs {skips}x (TORCH_LOGS=perf_hints)")


def run_side(side: str, job: Job, workdir: Path) -> tuple[list[float] | None, list[str]]:
    """Epoch periods of ``side`` on ``job`` (None if it failed) and the notes it printed, or its error's last lines."""
    clock = workdir / f"{side}-{job.model}-{job.precision}.json"
    env = child_env()
    if side.startswith("dltool"):
        cmd = dltool_command(job, clock, checkpoints=side == "dltool")
    else:
        cmd = [sys.executable, __file__, "--side", side, "--clock", str(clock), *job.arguments()]
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode or not clock.exists():
        lines = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return None, [f"{side}, {job.model}, {job.precision} failed (exit {done.returncode}): " + " / ".join(lines)]
    notes = [line.removeprefix(NOTE) for line in done.stdout.splitlines() if line.startswith(NOTE)]
    return epoch_periods(clock), notes


def train_flops_per_image(model_name: str, batch: int, device: str) -> float:
    """FLOPs of one training step (forward + backward) per image, counted by PyTorch."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    model = torch_net(model_name).to(device)
    x, y = torch.randn(batch, 3, 32, 32, device=device), torch.randint(0, 10, (batch,), device=device)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    flops = counter.get_total_flops() / batch
    del model, x, y
    if device == "cuda":
        torch.cuda.empty_cache()  # the sides run in other processes: leave them the memory
    return flops


def bf16_matmul_tflops() -> float:
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        a @ b
    torch.cuda.synchronize()
    return 2 * 8192**3 * 10 / (time.perf_counter() - start) / 1e12


def row(model: str, side: str, precision: str, images: int, periods: list[float], flops: float, peak: Any) -> str:
    warmup, steady = warmup_and_steady(periods)
    rate = images / steady
    tflops = rate * flops / 1e12
    share = f"{tflops / peak:.1%}" if peak else "-"
    return f"| {model} | {SIDES[side]} | {precision} | {rate:,.0f} | {warmup:.1f} | {tflops:.1f} | {share} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(BATCH), choices=list(BATCH))
    parser.add_argument(
        "--sides",
        nargs="+",
        default=[s for s in SIDES if s != "dltool"],
        choices=list(SIDES),
        help="(default: all"
        " but dltool with checkpoints: their cost is in BENCHMARKS.md and in time_to_accuracy.py with/without --lean)",
    )
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--samples", type=int, default=60000, help="synthetic images (1%% held out by dltool)")
    parser.add_argument("--epochs", type=int, default=6, help="per side; the first is the warm-up")
    parser.add_argument("--batch", type=int, help=f"for every network (default: {BATCH})")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"), help="cpu: a smoke test of the mechanics")
    parser.add_argument("--autotune", action="store_true", help="torch.compile's max-autotune modes")
    parser.add_argument("--side", choices=[s for s in SIDES if not s.startswith("dltool")], help=argparse.SUPPRESS)
    parser.add_argument("--clock", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first is the warm-up")

    def job(model: str, precision: str) -> Job:
        batch = args.batch or BATCH[model]
        return Job(model, args.samples, args.epochs, precision, batch, args.device, args.autotune)

    if args.side:
        one = job(args.models[0], args.precisions[0])
        if args.side == "keras":
            plain_keras(one, args.clock)
        else:
            plain_torch(one, args.clock, args.side)
        return

    import torch

    sides = [s for s in args.sides if args.device == "cuda" or s not in CUDA_ONLY]
    peak = bf16_matmul_tflops() if args.device == "cuda" else None
    name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    flops = {m: train_flops_per_image(m, args.batch or BATCH[m], args.device) for m in args.models}
    print(f"{name}: bf16 matmul {f'{peak:.0f} TFLOP/s' if peak else '-'}; training FLOPs per image: ", end="")
    print(", ".join(f"{m} (batch {args.batch or BATCH[m]}) {f / 1e6:.1f} M" for m, f in flops.items()), flush=True)
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            for precision in args.precisions:
                one = job(model, precision)
                for side in sides:
                    periods, side_notes = run_side(side, one, Path(tmp))
                    notes += side_notes
                    if periods is None:
                        print(side_notes[-1], flush=True)
                        continue
                    # the Keras sides train on all but dltool's 1 % test split; PyTorch on whole batches of all samples
                    torch_side = side.startswith("torch")
                    images = one.samples // one.batch * one.batch if torch_side else cpu_peers.train_size(one.samples)
                    rows.append(row(model, side, precision, images, periods, flops[model], peak))
                    print(rows[-1], flush=True)
    print("\n| network | side | precision | images/s | warm-up s | TFLOP/s | of bf16 matmul |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
