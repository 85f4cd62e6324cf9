"""CPU training speed: ``dltool train`` against a plain Keras script, plain PyTorch (eager) and PyTorch
Lightning, on the same networks and CIFAR-shaped synthetic data, in one run.

    pip install 'dltool[bench]'          # torch (its CPU build) and lightning
    python bench/cpu_peers.py                                   # mlp, cnn_cifar, resnet; every side
    python bench/cpu_peers.py --models resnet --sides dltool torch dltool-jax --epochs 6 --rounds 3
    python bench/cpu_peers.py --models mlp --sides dltool torch --samples 512 --epochs 3 --rounds 2   # smoke

Each side trains in its own process, so a side that crashes (a segfault, an import error) is reported with its
exit code and the last lines of its stderr while the others go on. For each network, every round runs each side
once, in turn (A B C, A B C, ...), so a machine that slows down weighs on every side alike. A process records
when each epoch ends (``bench/epoch_clock.py`` for Keras; the same marks by hand for PyTorch); its first epoch
(tracing, warm-up) is dropped and its figure is the median samples/s of the other epochs. Each side's figure is
divided by the reference side's (``--reference``, PyTorch eager by default) of the same round; the median
(min–max) of those ratios over the rounds is printed. Same for all sides: batch 128, SGD with momentum 0.9,
shuffled every epoch, no validation split.

Sides: ``dltool`` (``dltool train`` as users run it: checkpoints, metrics CSV, TensorBoard, backups),
``keras`` (the same Keras model, built by dltool's builder, and a bare ``fit`` on NumPy arrays),
``torch`` (the network written in PyTorch, eager, batches indexed from tensors), ``lightning``
(the same module in a ``LightningModule`` and a ``Trainer`` without logger or checkpoints); and
dltool variants: ``dltool-jax`` and ``dltool-torch`` (``trainer.backend``), ``dltool-xla``
(``trainer.jit_compile=true``), ``dltool-torch-compile`` (both: ``torch.compile``),
``dltool-1inter`` (``TF_NUM_INTEROP_THREADS=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import child_env, interleaved, median_range, overhead, paired_ratios, run_side_process  # noqa: E402

BATCH = 128
LEARNING_RATE = 0.01
SAMPLES = {"mlp": 10_000, "cnn_cifar": 3_000, "resnet": 1_500}
VARIANTS = {
    "dltool-jax": (["trainer.backend=jax"], {}),
    "dltool-torch": (["trainer.backend=torch"], {}),
    "dltool-xla": (["trainer.jit_compile=true"], {}),
    "dltool-torch-compile": (["trainer.backend=torch", "trainer.jit_compile=true"], {}),
    "dltool-1inter": ([], {"TF_NUM_INTEROP_THREADS": "1"}),
}
SIDES = ("dltool", "keras", "torch", "lightning", *VARIANTS)


def data_overrides(samples: int) -> list[str]:
    """The common CIFAR-shaped data, all of it for training but the 1 % test split that ends a run."""
    return overhead.data_overrides(samples, validation_split=0, test_split=0.01)


def train_size(samples: int) -> int:
    return samples - round(samples * 0.01)


def synthetic(samples: int) -> tuple:
    """The very arrays dltool trains on (``data=synthetic``, seed 42): NHWC images, integer labels."""
    from dltool.config import compose, validate
    from dltool.data import load_dataset

    data = load_dataset(validate(compose(data_overrides(samples))).data, seed=42)
    return data.x_train, data.y_train


def keras_model(model_name: str, optimizer: Any = None) -> Any:
    """dltool's Keras model for ``model_name`` (32x32x3 images, 10 classes), its trainable parameters checked
    against PyTorch's net, compiled with ``optimizer`` (default: SGD momentum 0.9 at ``LEARNING_RATE``, as every
    side here trains)."""
    import keras

    from bench.torch_nets import PARAMS
    from dltool.config import compose, validate
    from dltool.data import DataSpec
    from dltool.models import build_model

    run = validate(compose([f"model={model_name}"]))
    keras.utils.set_random_seed(42)
    model = build_model(run.model, DataSpec((32, 32, 3), "multiclass", 10), run.regularization)
    assert sum(int(w.numpy().size) for w in model.trainable_weights) == PARAMS[model_name]
    model.compile(
        optimizer=optimizer or keras.optimizers.SGD(LEARNING_RATE, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def plain_keras(model_name: str, samples: int, epochs: int, clock: str) -> None:
    from bench.epoch_clock import EpochClock

    x, y = synthetic(samples)
    model = keras_model(model_name)
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[EpochClock(clock)])


def torch_epoch(model_name: str, samples: int) -> Callable[[], None]:
    """A function that trains PyTorch's ``model_name`` for one epoch (eager, NCHW tensors)."""
    import torch
    import torch.nn.functional as F

    from bench.torch_nets import PARAMS, torch_net, trainable_params

    x, y = synthetic(samples)
    torch.manual_seed(42)
    model = torch_net(model_name)
    assert trainable_params(model) == PARAMS[model_name]
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.9)
    x, y = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y).long()

    def train_epoch() -> None:
        model.train()
        for idx in torch.randperm(len(x)).split(BATCH):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return train_epoch


def plain_torch(model_name: str, samples: int, epochs: int, clock: str) -> None:
    train_epoch = torch_epoch(model_name, samples)
    marks = [time.perf_counter()]
    for _ in range(epochs):
        train_epoch()
        marks.append(time.perf_counter())
    Path(clock).write_text(json.dumps(marks))


def lightning(model_name: str, samples: int, epochs: int, clock: str) -> None:
    import lightning as L
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from bench.torch_nets import torch_net

    x, y = synthetic(samples)
    L.seed_everything(42, verbose=False)
    marks: list[float] = []

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch_net(model_name)

        def training_step(self, batch, _):
            inputs, labels = batch
            return F.cross_entropy(self.net(inputs), labels)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=LEARNING_RATE, momentum=0.9)

        def on_train_start(self) -> None:
            marks.append(time.perf_counter())

        def on_train_epoch_end(self) -> None:
            marks.append(time.perf_counter())

    data = TensorDataset(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y).long())
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(Module(), DataLoader(data, batch_size=BATCH, shuffle=True))
    Path(clock).write_text(json.dumps(marks))


def run_side(side: str, model_name: str, samples: int, epochs: int, workdir: Path) -> float:
    """Samples/s of one process of ``side``: the median of its epochs but the first. Raises ``RuntimeError``
    with the process's exit code and the end of its stderr when it fails."""
    from bench.epoch_clock import epoch_periods

    clock = workdir / f"{side}-{model_name}.json"
    clock.unlink(missing_ok=True)  # a failed process must not leave the previous round's marks to be read
    env = child_env()
    if side.startswith("dltool"):
        overrides, extra_env = VARIANTS.get(side, ([], {}))
        env.update(extra_env)
        cmd = [
            sys.executable,
            "-m",
            "dltool",
            "train",
            f"model={model_name}",
            *data_overrides(samples),
            f"trainer.epochs={epochs}",
            f"trainer.batch_size={BATCH}",
            "optimizer=momentum",
            f"optimizer.learning_rate={LEARNING_RATE}",
            "callbacks.early_stopping.enabled=false",
            f"callbacks.custom=[{{_target_: bench.epoch_clock.EpochClock, path: '{clock}'}}]",
            *overrides,
        ]
    else:
        cmd = [sys.executable, __file__, "--side", side, "--models", model_name, "--clock", str(clock)]
        cmd += ["--samples", str(samples), "--epochs", str(epochs)]
    run_side_process(cmd, workdir, env)
    return statistics.median(train_size(samples) / p for p in epoch_periods(clock)[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(SAMPLES), choices=list(SAMPLES))
    parser.add_argument("--sides", nargs="+", default=list(SIDES), choices=SIDES)
    parser.add_argument("--reference", choices=SIDES, help="the side ratios are taken to (default: torch if run)")
    parser.add_argument("--epochs", type=int, default=6, help="per process; the first is dropped")
    parser.add_argument("--rounds", type=int, default=3, help="processes per side, interleaved")
    parser.add_argument("--samples", type=int, help="synthetic examples (default: per model, see SAMPLES)")
    parser.add_argument("--side", choices=("keras", "torch", "lightning"), help=argparse.SUPPRESS)
    parser.add_argument("--clock", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        side = {"keras": plain_keras, "torch": plain_torch, "lightning": lightning}[args.side]
        side(args.models[0], args.samples, args.epochs, args.clock)
        return

    reference = args.reference or ("torch" if "torch" in args.sides else args.sides[0])
    sides = list(dict.fromkeys([*args.sides, reference]))
    print(f"load average at start: {os.getloadavg()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model_name in args.models:
            samples = args.samples or SAMPLES[model_name]

            def measure(side: str, model_name: str = model_name, samples: int = samples) -> float:
                speed = run_side(side, model_name, samples, args.epochs, Path(tmp))
                print(f"{model_name:>9} {side:>20}: {speed:.0f} samples/s", flush=True)
                return speed

            speeds = interleaved({side: partial(measure, side) for side in sides}, args.rounds)
            for side, got in speeds.items():
                done = [s for s in got if s is not None]
                failed = f", {len(got) - len(done)} failed" if done and len(done) < len(got) else ""
                ratio = median_range(paired_ratios(got, speeds[reference]), ".2f")
                rows.append(f"| {model_name} | {side} | {median_range(done, '.0f')}{failed} | {ratio} |")
    print(f"load average at end: {os.getloadavg()}")
    print(f"\n{args.rounds} rounds, {args.epochs} epochs per process (the first dropped)")
    print(f"| network | side | samples/s, median (min–max) over rounds | / {reference}, per round: median (min–max) |")
    print("| --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
