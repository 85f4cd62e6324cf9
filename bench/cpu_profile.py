"""Where a CPU training epoch goes: Keras 3 on its torch backend against PyTorch eager, same ResNet-20.

    pip install 'dltool[bench]'
    python bench/cpu_profile.py                      # ResNet-20, 1,024 images, batch 128
    python bench/cpu_profile.py --models cnn_cifar --samples 2048

Both sides run in this one process on the torch backend (``KERAS_BACKEND=torch``), so that PyTorch's
profiler sees the same ATen kernels from both: dltool's Keras model (built by dltool's builder, ``fit`` on
NumPy arrays, the ``keras`` side of ``bench/cpu_peers.py``) and the network written in PyTorch (the
``torch`` side). One warm-up epoch each, then one profiled epoch each. The self CPU time of every
ATen operator is summed into four groups: convolutions (forward), convolutions (backward), layout copies
(``copy_``/``clone``: the channels-last <-> channels-first transposes around each convolution) and
the rest (batch norm, activations, residual adds, loss, optimizer). The ten costliest operators of
each side follow.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported, here and in dltool
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cpu_peers import BATCH, SAMPLES, keras_model, synthetic, torch_epoch  # noqa: E402

GROUPS = {
    "aten::mkldnn_convolution": "convolution, forward",
    "aten::convolution_backward": "convolution, backward",
    "aten::copy_": "layout copies",
    "aten::clone": "layout copies",
}


def profile_epoch(train_epoch) -> dict[str, float]:
    """Seconds of self CPU time per ATen operator during one call of ``train_epoch``."""
    from torch.profiler import ProfilerActivity, profile

    train_epoch()  # warm-up: tracing, first allocations
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        train_epoch()
    return {e.key: e.self_cpu_time_total / 1e6 for e in prof.key_averages() if e.key.startswith("aten::")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", choices=list(SAMPLES), default="resnet")
    parser.add_argument("--samples", type=int, default=1024)
    args = parser.parse_args()

    x, y = synthetic(args.samples)
    model = keras_model(args.models)
    sides = {
        "Keras 3, torch backend": profile_epoch(lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)),
        "PyTorch eager": profile_epoch(torch_epoch(args.models, args.samples)),
    }
    print(f"load average: {os.getloadavg()}\n")
    print("| group | " + " | ".join(f"{side}, s" for side in sides) + " |")
    print("| --- |" + " --- |" * len(sides))
    grouped = {side: defaultdict(float) for side in sides}
    for side, ops in sides.items():
        for op, seconds in ops.items():
            grouped[side][GROUPS.get(op, "the rest")] += seconds
    for group in (*dict.fromkeys(GROUPS.values()), "the rest"):
        print(f"| {group} | " + " | ".join(f"{grouped[side][group]:.2f}" for side in sides) + " |")
    print("| **total** | " + " | ".join(f"**{sum(ops.values()):.2f}**" for ops in sides.values()) + " |")
    for side, ops in sides.items():
        top = sorted(ops.items(), key=lambda item: -item[1])[:10]
        print(f"\n{side}: " + ", ".join(f"{op.removeprefix('aten::')} {seconds:.2f}" for op, seconds in top))


if __name__ == "__main__":
    main()
