"""scikit-learn's handwritten digits: 1,797 real 8x8 grey images of 0-9, bundled with sklearn (offline).

Example:
    >>> data = load(DigitsConfig(), seed=0)
    >>> data.x_train.shape, float(data.x_train.max()), data.spec.num_classes
    ((1293, 8, 8, 1), 1.0, 10)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dltool.config.data import SplitDataConfig
from dltool.config.registry import option
from dltool.data.base import DIGIT_NAMES, Dataset, DataSpec, Source, make_dataset


@option("data")
@dataclass
class DigitsConfig(SplitDataConfig):
    source: ClassVar[str] = "dltool.data.digits:SOURCE"
    name: str = "digits"


def spec(cfg: DigitsConfig) -> DataSpec:
    """8x8x1 images, 10 classes "0".."9"."""
    return DataSpec(input_shape=(8, 8, 1), task="multiclass", num_classes=10, class_names=DIGIT_NAMES)


def load(cfg: DigitsConfig, seed: int) -> Dataset:
    """``sklearn.datasets.load_digits``, pixels (0..16) scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return make_dataset(spec(cfg), cfg, seed, digits.images[..., None], digits.target, scale=16.0)


SOURCE = Source(spec, load)
