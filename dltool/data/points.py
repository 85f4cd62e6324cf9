"""The seeds' generated 2-D binary classification sets: xor, blobs, flower and spirals.

Each is ``PointsConfig``: ``num_samples`` points of shape ``(2,)`` with 0/1 labels;
``noise`` is the standard deviation of a Gaussian jitter of the points (unused by blobs).

Example:
    >>> data = load(PointsConfig(name="xor"), seed=0)
    >>> data.x_train.shape, data.y_train.shape, data.spec.task
    ((288, 2), (288, 1), 'binary')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dltool.config.data import SplitDataConfig
from dltool.config.fields import opt
from dltool.config.registry import option
from dltool.data.base import Dataset, DataSpec, Source, make_dataset


@option("data", "xor", "blobs", "flower", "spirals")
@dataclass
class PointsConfig(SplitDataConfig):
    """Generated 2-D classification sets of the seeds (xor, blobs, flower, spirals)."""

    source: ClassVar[str] = "dltool.data.points:SOURCE"
    num_samples: int = opt(400, "number of generated points", gt=3)
    noise: float = opt(0.1, "standard deviation of the Gaussian noise", ge=0.0)


def spec(cfg: PointsConfig) -> DataSpec:
    """Every point set: 2 coordinates, one 0/1 label."""
    return DataSpec(input_shape=(2,), task="binary", num_classes=1, class_names=("0", "1"))


def load(cfg: PointsConfig, seed: int) -> Dataset:
    """Generate ``cfg.name``'s points from ``seed`` and split them."""
    rng = np.random.default_rng(seed)
    x, y = GENERATORS[cfg.name](cfg.num_samples, cfg.noise, rng)
    return make_dataset(spec(cfg), cfg, seed, x, y)


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in [-1, 1]^2, label 1 in the quadrants where x1*x2 > 0; then jittered."""
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    return x + rng.normal(0.0, noise, size=x.shape), y


def blobs(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two standard Gaussian clouds of n/2 points, class 1 shifted by +5 in both coordinates (no noise)."""
    y = np.repeat([0, 1], [n // 2, n - n // 2])
    return rng.normal(size=(n, 2)) + 5.0 * y[:, None], y


def flower(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """8 petals: an ellipse (3.5 x 0.7, max x at 0) rotated by 45° per petal, plus jitter.

    Petals alternate between 43/50 of class 1 and 7/50 of class 1 (the labels are noisy by
    design): the seed's set is ``n=400``, 50 points a petal.
    """
    xs, ys = [], []
    for petal in range(8):
        size = n // 8 + (petal < n % 8)
        t = np.linspace(0.0, 2 * np.pi, size)
        ellipse = np.stack([3.5 * np.cos(t) - 3.5, 0.7 * np.sin(t)], axis=1)
        angle = np.pi / 4 * (petal + 1)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        xs.append(ellipse @ rotation.T + rng.normal(0.0, noise, size=ellipse.shape))
        label = np.zeros(size, dtype=int)
        label[rng.choice(size, size=round(size * (43 if petal % 2 == 0 else 7) / 50), replace=False)] = 1
        ys.append(label)
    return np.concatenate(xs), np.concatenate(ys)


def spirals(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals of 1.5 turns (radius up to 3, arms 1 apart), class 1 rotated by 180°."""
    y = np.repeat([0, 1], [n // 2, n - n // 2])
    angle = np.sqrt(rng.uniform(size=n)) * 3 * np.pi
    radius = angle / np.pi
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1) * np.where(y == 1, -1.0, 1.0)[:, None]
    return x + rng.normal(0.0, noise, size=x.shape), y


GENERATORS = {"xor": xor, "blobs": blobs, "flower": flower, "spirals": spirals}


SOURCE = Source(spec, load)
