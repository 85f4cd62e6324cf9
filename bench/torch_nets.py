"""dltool's benchmark networks written in plain PyTorch (NCHW), layer for layer: the peers' side of the benchmarks.

>>> sum(p.numel() for p in torch_net("cnn_cifar").parameters())  # doctest: +SKIP
122570
"""

from __future__ import annotations

from typing import Any

# Trainable parameters of dltool's models on 32x32x3 inputs with 10 classes (``model=mlp|cnn_cifar|resnet``).
PARAMS = {"mlp": 201_482, "cnn_cifar": 122_570, "resnet": 269_722}


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


def torch_net(name: str) -> Any:
    """``mlp`` (Dense 64-64), ``cnn_cifar`` (the seeds' CIFAR CNN) or ``resnet`` (ResNet-20)."""
    from torch import nn

    if name == "resnet":
        return torch_resnet20()
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
