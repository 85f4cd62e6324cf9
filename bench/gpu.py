"""GPU throughput of ResNet-20 (CIFAR-shaped data, batch 512): ``dltool train trainer.backend=jax`` against
the same network in plain PyTorch (eager and ``torch.compile``), float32 and bfloat16, in one run.

Needs an NVIDIA GPU, Keras + JAX (no TensorFlow) and PyTorch:

    python bench/gpu.py --samples 60000 --epochs 6

dltool trains as a user runs it (``callbacks=minimal``: checkpoints and metrics CSV, no TensorBoard or
backups; no validation split) and is timed by the same epoch clock as the CPU benchmark; PyTorch keeps
the whole data set on the GPU and draws each batch from it (its best case). Images/s are the median of
the steady-state epochs (the first is dropped: compilation). Training FLOPs per image are counted by
PyTorch's FlopCounterMode on one forward+backward pass, and compared with the card's bf16 matrix rate
measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KERAS_BACKEND", "jax")  # the epoch clock imports Keras; there is no TensorFlow here

from bench.epoch_clock import epoch_periods  # noqa: E402
from bench.torch_nets import torch_resnet20  # noqa: E402

BATCH = 512
NO_CHECKPOINTS = ("callbacks.checkpoint.save_best=false", "callbacks.checkpoint.save_last=false")


def dltool_images_per_s(samples: int, epochs: int, precision: str, *extra: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        clock = Path(tmp) / "clock.json"
        cmd = [
            sys.executable,
            "-m",
            "dltool",
            "train",
            "trainer.backend=jax",
            "model=resnet",
            "data=synthetic",
            f"data.num_samples={samples}",
            "data.input_shape=[32,32,3]",
            "data.validation_split=0",
            "data.test_split=0.01",
            f"trainer.batch_size={BATCH}",
            f"trainer.epochs={epochs}",
            f"trainer.precision={precision}",
            "optimizer=nesterov",
            "optimizer.learning_rate=0.1",
            "callbacks=minimal",
            f"callbacks.custom=[{{_target_: bench.epoch_clock.EpochClock, path: '{clock}'}}]",
            *extra,
        ]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        subprocess.run(cmd, cwd=tmp, env=env, check=True, capture_output=True, text=True)
        train = samples - round(samples * 0.01)
        return train / statistics.median(epoch_periods(clock)[1:])


def keras_images_per_s(samples: int, epochs: int, precision: str) -> float:
    """Plain Keras ``fit`` (JAX backend) on the very model dltool builds, with only the epoch clock."""
    with tempfile.TemporaryDirectory() as tmp:
        clock = Path(tmp) / "clock.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--plain-keras",
                str(clock),
                "--samples",
                str(samples),
                "--epochs",
                str(epochs),
                "--precision",
                precision,
            ],
            env=env,
            check=True,
        )
        return samples / statistics.median(epoch_periods(clock)[1:])


def plain_keras_fit(clock: str, samples: int, epochs: int, precision: str) -> None:
    import keras
    import numpy as np

    from bench.epoch_clock import EpochClock
    from dltool.config import compose, validate
    from dltool.data import DataSpec
    from dltool.models import build_model

    keras.mixed_precision.set_global_policy(precision)
    run = validate(compose(["model=resnet"]))
    model = build_model(run.model, DataSpec((32, 32, 3), "multiclass", 10), run.regularization)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, samples)
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[EpochClock(clock)])


def torch_images_per_s(samples: int, epochs: int, bf16: bool, compiled: bool) -> float:
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = torch_resnet20().cuda().to(memory_format=torch.channels_last)
    assert sum(p.numel() for p in model.parameters()) == 269_722  # dltool's ResNet-20 (A), trainable
    forward = torch.compile(model) if compiled else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x = torch.randn(samples, 3, 32, 32, device="cuda").to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (samples,), device="cuda")
    steps = samples // BATCH
    periods = []
    for _ in range(epochs):
        torch.cuda.synchronize()
        start = time.perf_counter()
        order = torch.randperm(samples, device="cuda")
        for i in range(steps):
            idx = order[i * BATCH : (i + 1) * BATCH]
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(forward(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        torch.cuda.synchronize()
        periods.append(time.perf_counter() - start)
    return steps * BATCH / statistics.median(periods[1:])


def train_flops_per_image() -> float:
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    model = torch_resnet20().cuda()
    x, y = torch.randn(BATCH, 3, 32, 32, device="cuda"), torch.randint(0, 10, (BATCH,), device="cuda")
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() / BATCH


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--plain-keras", metavar="CLOCK", help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="float32", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_keras:
        plain_keras_fit(args.plain_keras, args.samples, args.epochs, args.precision)
        return
    import torch

    peak = bf16_matmul_tflops()
    flops = train_flops_per_image()
    print(
        f"{torch.cuda.get_device_name()}: bf16 matmul {peak:.0f} TFLOP/s; ResNet-20 training "
        f"{flops / 1e6:.1f} MFLOP/image\n"
    )
    print("| side | precision | images/s | TFLOP/s | of bf16 matmul |\n| --- | --- | --- | --- | --- |")
    for precision, bf16 in (("float32", False), ("mixed_bfloat16", True)):
        sides = {
            "dltool train (Keras 3 + JAX, fit)": lambda p=precision: dltool_images_per_s(args.samples, args.epochs, p),
            "dltool train, no per-epoch checkpoints": lambda p=precision: dltool_images_per_s(
                args.samples,
                args.epochs,
                p,
                "callbacks.checkpoint.save_best=false",
                "callbacks.checkpoint.save_last=false",
            ),
            "plain Keras 3 + JAX fit, same model": lambda p=precision: keras_images_per_s(args.samples, args.epochs, p),
            "PyTorch eager": lambda b=bf16: torch_images_per_s(args.samples, args.epochs, b, compiled=False),
            "PyTorch torch.compile": lambda b=bf16: torch_images_per_s(args.samples, args.epochs, b, compiled=True),
        }
        for name, measure in sides.items():
            rate = measure()
            tflops = rate * flops / 1e12
            print(f"| {name} | {precision} | {rate:,.0f} | {tflops:.1f} | {tflops / peak:.1%} |", flush=True)


if __name__ == "__main__":
    main()
