"""dltool's benchmark networks written in plain PyTorch (NCHW), layer for layer: the peers' side of the benchmarks.

>>> sum(p.numel() for p in torch_net("cnn_cifar").parameters())  # doctest: +SKIP
122570
"""

from __future__ import annotations

from typing import Any

# Trainable parameters of dltool's models on 32x32x3 inputs with 10 classes (``model=mlp|cnn_cifar|resnet|airbench``).
PARAMS = {"mlp": 201_482, "cnn_cifar": 122_570, "resnet": 269_722, "airbench": 1_971_650}


def trainable_params(model: Any) -> int:
    """Parameters the optimizer updates (the frozen batch-norm scales of ``torch_airbench`` left out).

    >>> trainable_params(torch_airbench()) == PARAMS["airbench"]  # doctest: +SKIP
    True
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def torch_resnet20() -> Any:
    """ResNet-20 with shortcut A, as ``model=resnet`` builds it (biases off in the convolutions)."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
            self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
            self.stride, self.pad = stride, cout - cin

        def forward(self, x: Any) -> Any:
            y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            shortcut = x[:, :, :: self.stride, :: self.stride]  # option A: subsample, zero-pad channels
            if self.pad:
                shortcut = nn.functional.pad(shortcut, (0, 0, 0, 0, 0, self.pad))
            return torch.relu(y + shortcut)

    layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for stage, cout in enumerate((16, 32, 64)):
        for block in range(3):
            layers.append(Block(cin, cout, 2 if stage and block == 0 else 1))
            cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def torch_airbench(classes: int = 10) -> Any:
    """airbench94's network as ``model=airbench`` builds it (``conf/model/airbench.yaml``'s defaults).

    A 2x2 stem convolution (24 filters, no padding, with a bias) and GELU; three groups of widths
    64/256/256, each conv3x3 -> max-pool 2 -> batch norm -> GELU -> conv3x3 -> batch norm -> GELU
    (convolutions without bias); a global max-pool; features x 1/9; a linear output layer with a bias.
    Batch norms train their shift only (the scale is frozen at 1, as in airbench and Keras' ``scale=False``),
    with Keras' momentum 0.4 written in PyTorch's convention (0.6) and epsilon 1e-12. GELU is the exact
    one on both sides. Weights keep PyTorch's default initialization (dltool's is ``he_normal``): this
    net is for timing, not for accuracy.
    """
    from torch import nn

    def norm(width: int) -> nn.BatchNorm2d:
        bn = nn.BatchNorm2d(width, momentum=0.6, eps=1e-12)
        bn.weight.requires_grad_(False)
        return bn

    class Scale(nn.Module):
        def forward(self, x: Any) -> Any:
            return x * (1 / 9)

    layers: list[nn.Module] = [nn.Conv2d(3, 24, 2), nn.GELU()]
    cin = 24
    for width in (64, 256, 256):
        layers += [nn.Conv2d(cin, width, 3, padding=1, bias=False), nn.MaxPool2d(2), norm(width), nn.GELU()]
        layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), norm(width), nn.GELU()]
        cin = width
    return nn.Sequential(*layers, nn.AdaptiveMaxPool2d(1), nn.Flatten(), Scale(), nn.Linear(cin, classes))


def torch_net(name: str) -> Any:
    """``mlp`` (Dense 64-64), ``cnn_cifar`` (the seeds' CIFAR CNN), ``resnet`` (ResNet-20) or ``airbench``."""
    from torch import nn

    if name == "resnet":
        return torch_resnet20()
    if name == "airbench":
        return torch_airbench()
    if name == "mlp":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(3072, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
        )
    return nn.Sequential(
        *(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2)),
        *(nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2)),
        *(nn.Conv2d(64, 64, 3), nn.ReLU()),
        *(nn.Flatten(), nn.Linear(1024, 64), nn.ReLU(), nn.Linear(64, 10)),
    )
