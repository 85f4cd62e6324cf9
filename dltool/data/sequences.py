"""Generated sequences with a learnable rule, offline: integer tokens and float time series.

- ``sequences``: ``length`` random tokens from ``num_classes+1 .. vocab_size-1``, in which the
  marker token of the true class (token ``1 + class``) is written ``markers`` times and the marker
  of one other class ``markers - 1`` times or fewer, at random positions. The label is the class
  whose marker occurs most: a model must find and count the markers wherever they are (an
  embedding then an RNN or a 1-D CNN). Binary for 2 classes, else multiclass.
- ``timeseries``: each series is ``0.5 sin((t - o1)(10 f1 + 10)) + 0.2 sin((t - o2)(20 f2 + 20))``
  plus N(0, noise) over ``length + 1`` steps t in [0, 1] (Géron's forecasting example); inputs are the
  first ``length`` steps (shape (length, 1)), the target the next value (``target: next``) or the
  series shifted by one step (``target: sequence``, shape (length, 1): seq-to-seq).

Example:
    >>> data = load_sequences(SequencesConfig(num_samples=100, num_classes=3), seed=0)
    >>> data.x_train.dtype.name, data.x_train.shape[1], data.spec.vocab_size, data.spec.task
    ('int32', 40, 100, 'multiclass')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dltool.config.data import SplitDataConfig
from dltool.config.fields import opt
from dltool.config.registry import option
from dltool.data.base import Dataset, DataSpec, Source, make_dataset
from dltool.errors import ConfigError


@option("data")
@dataclass
class SequencesConfig(SplitDataConfig):
    """Integer token sequences; the label is the class whose marker token occurs most often."""

    source: ClassVar[str] = "dltool.data.sequences:SEQUENCES"
    name: str = "sequences"
    num_samples: int = opt(2000, "number of generated sequences", gt=3)
    length: int = opt(40, "tokens per sequence", gt=3)
    vocab_size: int = opt(100, "tokens 0..vocab_size-1 (1..num_classes are the class markers)", gt=3)
    num_classes: int = opt(2, "number of classes (2: binary)", ge=2)
    markers: int = opt(3, "marker tokens of the true class per sequence (others get fewer)", ge=1)


@option("data")
@dataclass
class TimeSeriesConfig(SplitDataConfig):
    """Sums of two sine waves with noise (Géron's forecasting example); regression of the next value."""

    source: ClassVar[str] = "dltool.data.sequences:TIMESERIES"
    name: str = "timeseries"
    num_samples: int = opt(2000, "number of generated series", gt=3)
    length: int = opt(50, "time steps per series", gt=1)
    noise: float = opt(0.05, "standard deviation of the Gaussian noise", ge=0.0)
    target: str = opt(
        "next",
        "next: the value after the series (seq-to-vector); sequence: the next value at every step (seq-to-seq)",
        choices=("next", "sequence"),
    )


def sequences_spec(cfg: SequencesConfig) -> DataSpec:
    """(length,) int32 tokens; binary for 2 classes, else multiclass."""
    if cfg.vocab_size <= cfg.num_classes + 1:
        raise ConfigError(
            f"data.vocab_size={cfg.vocab_size}: must exceed num_classes + 1 = {cfg.num_classes + 1} "
            "(token 0 and one marker per class are reserved)"
        )
    if 2 * cfg.markers > cfg.length:
        raise ConfigError(f"data.markers={cfg.markers}: at most length / 2 = {cfg.length // 2}")
    names = tuple(str(i) for i in range(cfg.num_classes))
    task, outputs = ("binary", 1) if cfg.num_classes == 2 else ("multiclass", cfg.num_classes)
    return DataSpec((cfg.length,), task, outputs, names, input_dtype="int32", vocab_size=cfg.vocab_size)


def load_sequences(cfg: SequencesConfig, seed: int) -> Dataset:
    """Random token sequences with planted class markers (see the module docstring)."""
    spec = sequences_spec(cfg)
    rng = np.random.default_rng(seed)
    n, k = cfg.num_samples, cfg.num_classes
    x = rng.integers(k + 1, cfg.vocab_size, size=(n, cfg.length))
    y = rng.integers(0, k, size=n)
    other = (y + rng.integers(1, k, size=n)) % k
    decoys = rng.integers(0, cfg.markers, size=n)
    for i in range(n):
        positions = rng.permutation(cfg.length)
        x[i, positions[: cfg.markers]] = 1 + y[i]
        x[i, positions[cfg.markers : cfg.markers + decoys[i]]] = 1 + other[i]
    return make_dataset(spec, cfg, seed, x, y)


def timeseries_spec(cfg: TimeSeriesConfig) -> DataSpec:
    """(length, 1) float inputs, regression."""
    return DataSpec((cfg.length, 1), "regression", 1)


def load_timeseries(cfg: TimeSeriesConfig, seed: int) -> Dataset:
    """Noisy sums of two sines; the next value, or the shifted series, as the target."""
    rng = np.random.default_rng(seed)
    f1, f2, o1, o2 = rng.random((4, cfg.num_samples, 1))
    t = np.linspace(0, 1, cfg.length + 1)
    series = 0.5 * np.sin((t - o1) * (f1 * 10 + 10)) + 0.2 * np.sin((t - o2) * (f2 * 20 + 20))
    series += rng.normal(0.0, cfg.noise, size=series.shape)
    x = series[:, :-1, None]
    y = series[:, -1] if cfg.target == "next" else series[:, 1:, None]
    return make_dataset(timeseries_spec(cfg), cfg, seed, x, y)


SEQUENCES = Source(sequences_spec, load_sequences)
TIMESERIES = Source(timeseries_spec, load_timeseries)
