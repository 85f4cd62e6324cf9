"""What every dataset returns, and the split/normalize helpers its loader ends with.

A loader builds the full arrays of its source, then calls :func:`make_dataset`, which holds
out the test split (unless the source has its own), the validation split, applies
``max_samples`` and converts to the package's conventions:

- ``x`` float32, one example of shape ``spec.input_shape`` (images channels-last in [0, 1]);
- multiclass ``y`` int32 of shape ``(n,)``; binary ``y`` float32 0/1 and regression ``y``
  float32, both of shape ``(n, 1)``.

Regression targets stay in their own units; the loaded spec's ``target_scale`` (each regression
output's, for named outputs) holds the training split's mean and standard deviation of each target,
with which the model standardizes them for training (:mod:`dltool.models.targets`).

A source for a model of several inputs or outputs (``model=mlp``'s combiner, ``model=graph``) gives ``x`` and
``y`` as dicts of such arrays keyed by input and output name; its spec lists them in ``inputs`` and ``outputs``.

Example:
    >>> import numpy as np
    >>> from dltool.data.digits import DigitsConfig
    >>> spec = DataSpec(input_shape=(2,), task="binary", num_classes=1)
    >>> x, y = np.zeros((100, 2)), np.arange(100) % 2
    >>> data = make_dataset(spec, DigitsConfig(), 0, x, y)
    >>> len(data.x_train), len(data.x_val), len(data.x_test), data.y_test.shape
    (72, 8, 20, (20, 1))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from dltool.errors import ConfigError

DIGIT_NAMES = tuple(str(i) for i in range(10))


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about a dataset, known from the config alone.

    ``num_classes`` is the number of outputs: the number of classes for multiclass, 1 for
    binary and regression. Integer token inputs have ``input_dtype`` int32 and tokens in
    ``0..vocab_size-1``; models put an Embedding in front of them.
    """

    input_shape: tuple[int, ...]
    task: str
    num_classes: int
    class_names: tuple[str, ...] | None = None
    input_dtype: str = "float32"
    vocab_size: int | None = None
    inputs: dict[str, InputSpec] | None = None  # several named inputs: x is a dict keyed by their names
    outputs: dict[str, OutputSpec] | None = None  # several named outputs: y is a dict keyed by their names
    tabular: bool = False  # the encoded columns of a table: model=mlp trains them with its combiner
    #: regression: the training targets' (mean, std) per target, known once the data is loaded (so not compared:
    #: a loaded dataset's spec equals the config's)
    target_scale: tuple[tuple[float, ...], tuple[float, ...]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class InputSpec:
    """One named input of a multi-input dataset: the shape and dtype of one example."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    vocab_size: int | None = None


@dataclass(frozen=True)
class OutputSpec:
    """One named output of a multi-output dataset: its task and number of outputs (classes, or 1)."""

    task: str
    num_classes: int = 1
    class_names: tuple[str, ...] | None = None
    #: regression: the training targets' (mean, std), as :attr:`DataSpec.target_scale`
    target_scale: tuple[tuple[float, ...], tuple[float, ...]] | None = field(default=None, compare=False)

    @classmethod
    def of(cls, task: str, class_names: tuple[str, ...] | None = None) -> OutputSpec:
        """The output of a target of ``task``: a unit per class for multiclass, else one.

        >>> OutputSpec.of("multiclass", ("a", "b", "c")).num_classes, OutputSpec.of("binary", ("n", "y")).num_classes
        (3, 1)
        """
        return cls(task, len(class_names) if task == "multiclass" else 1, class_names)


def named_spec(
    inputs: dict[str, InputSpec],
    outputs: dict[str, OutputSpec] | None = None,
    task: str = "multioutput",
    num_classes: int = 1,
    class_names: tuple[str, ...] | None = None,
) -> DataSpec:
    """The spec of named inputs, the first one's shape, dtype and vocabulary as the spec's own."""
    first = next(iter(inputs.values()))
    return DataSpec(first.shape, task, num_classes, class_names, first.dtype, first.vocab_size, inputs, outputs)


@dataclass
class Dataset:
    """Train, validation and test arrays (validation may be empty) with their :class:`DataSpec`."""

    spec: DataSpec
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    #: what loading decided on the user's behalf (cells filled, columns encoded, files skipped), one line
    #: each, announced once in the log and kept in results.json
    decisions: list[str] = field(default_factory=list)

    def size(self, split: str) -> int:
        """Examples in split ``train``, ``val`` or ``test``."""
        return num_examples(getattr(self, "x_" + split))

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={self.size(k)}" for k in ("train", "val", "test"))
        return f"Dataset({sizes}, input_shape={self.spec.input_shape}, task={self.spec.task!r})"


class Source(NamedTuple):
    """One entry of the registry: ``spec(cfg)`` (instant, no loading), ``load(cfg, seed)``, and an
    optional ``check(cfg)`` of what can be checked without loading (files exist), run before training."""

    spec: Callable[[Any], DataSpec]
    load: Callable[[Any, int], Dataset]
    check: Callable[[Any], None] | None = None


def make_dataset(
    spec: DataSpec,
    cfg: Any,
    seed: int,
    x: np.ndarray,
    y: np.ndarray,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    scale: float = 1.0,
    val: tuple[np.ndarray, np.ndarray] | None = None,
) -> Dataset:
    """Split, limit and convert the full arrays of a source into a :class:`Dataset`.

    Without ``test``, ``cfg.test_split`` of ``(x, y)`` is held out; without ``val``, ``cfg.validation_split`` of
    the rest: stratified for classification, reproducible from ``seed``. ``cfg.max_samples`` keeps a seeded
    subset of each split; ``x`` is divided by ``scale`` after that (uint8 images stay small until then). The splits
    are views of ``x`` and ``y``, whose rows are reordered in place: the data is held once, not whole and split.
    """
    classify = spec.task != "regression" and spec.outputs is None  # stratified on the single label
    x, y = _own(x), _own(y)
    if test is None:
        x, y, test = _hold_out(x, y, cfg.test_split, seed, classify, "data.test_split")
    if val is None:
        x, y, val = _hold_out(x, y, cfg.validation_split, seed, classify, "data.validation_split")
    splits = [(x, y), val, test]
    if cfg.max_samples is not None:
        rng = np.random.default_rng(seed)
        splits = [_limit(xs, ys, cfg.max_samples, rng) for xs, ys in splits]
    arrays = [a for xs, ys in splits for a in (_inputs(xs, scale, spec), _targets(ys, spec))]
    if spec.task == "multiclass" and len(np.unique(arrays[1])) < 2:
        raise ConfigError(
            f"data={cfg.name}: the training split holds a single class; a classifier needs examples of at least 2"
        )
    if spec.task == "regression" and spec.outputs is None:
        spec = replace(spec, target_scale=target_scale(arrays[1]))
    if spec.outputs is not None:  # each regression output with its training targets' scale
        scale = {n: target_scale(arrays[1][n]) for n, o in spec.outputs.items() if o.task == "regression"}
        spec = replace(spec, outputs={n: replace(o, target_scale=scale.get(n)) for n, o in spec.outputs.items()})
    return Dataset(spec, *arrays)


def target_scale(y: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and standard deviation of each target (the last axis) over the examples; a constant target's std is 1.

    >>> target_scale(np.array([[1.0, 5.0], [3.0, 5.0]]))
    ((2.0, 5.0), (1.0, 1.0))
    """
    flat = y.reshape(-1, y.shape[-1]).astype(np.float64)
    if len(flat) == 0:
        return (0.0,) * flat.shape[1], (1.0,) * flat.shape[1]
    std = flat.std(0)
    return tuple(float(m) for m in flat.mean(0)), tuple(float(s) if s > 0 else 1.0 for s in std)


def index_dataset(
    spec: DataSpec, cfg: Any, seed: int, y: Any, val: np.ndarray | None = None, test: np.ndarray | None = None
) -> Dataset:
    """:func:`make_dataset` of row numbers: its ``x`` arrays are int64 indices of the examples kept.

    For sources whose preprocessing is fitted on the training split (a vocabulary, feature
    statistics) or that decode only the examples kept (image files). The rows are ``y``'s, then
    ``val``'s, then ``test``'s labels, numbered in that order; ``y`` of named outputs is a dict of each
    one's targets (then split at random, each regression output with its training scale).

    Example:
        >>> spec = DataSpec(input_shape=(1,), task="regression", num_classes=1)
        >>> from dltool.data.digits import DigitsConfig
        >>> data = index_dataset(spec, DigitsConfig(validation_split=0.5), 0, np.zeros(4), test=np.ones(2))
        >>> sorted(data.x_test.tolist()), data.x_train.dtype.name
        ([4, 5], 'int64')
    """
    sizes = [num_examples(y), 0 if val is None else len(val), 0 if test is None else len(test)]
    parts = np.split(np.arange(sum(sizes)), np.cumsum(sizes[:2]))
    given = [None if labels is None else (part, labels) for labels, part in ((val, parts[1]), (test, parts[2]))]
    index_spec = replace(spec, input_dtype="int64", inputs=None)  # the x arrays are row numbers
    y = {name: np.array(v) for name, v in y.items()} if isinstance(y, dict) else np.array(y)  # not the caller's
    data = make_dataset(index_spec, cfg, seed, parts[0], y, test=given[1], val=given[0])
    data.spec = replace(spec, target_scale=data.spec.target_scale, outputs=data.spec.outputs)
    return data


def _own(a: Any) -> Any:
    """``a`` (or each array of a dict) writable, to be reordered in place."""
    if isinstance(a, dict):
        return {name: _own(v) for name, v in a.items()}
    return a if a.flags.writeable and a.flags.c_contiguous else np.array(a)


SWAP_ROWS = 1024  # rows moved at once by _hold_out


def _hold_out(x: Any, y: Any, fraction: float, seed: int, stratify: bool, key: str) -> tuple[Any, Any, tuple]:
    """``(x_kept, y_kept, (x_held, y_held))``: ``fraction`` held out (:func:`_split`), as views of ``x`` and
    ``y`` after moving the held-out rows to their end in place (copies of ``SWAP_ROWS`` rows at a time).

    >>> x, y = np.arange(10.0)[:, None], np.arange(10)
    >>> kept, y_kept, (held, y_held) = _hold_out(x, y, 0.3, 0, False, "k")
    >>> sorted(y_kept.tolist() + y_held.tolist()) == list(range(10)), np.shares_memory(held, x), len(held)
    (True, True, 3)
    >>> (kept[:, 0] == y_kept).all() and (held[:, 0] == y_held).all()
    np.True_
    """
    n = num_examples(y)
    _, held = _split(y, fraction, seed, stratify, key)
    kept_n = n - len(held)
    is_held = np.zeros(n, bool)
    is_held[held] = True
    front_held = np.flatnonzero(is_held[:kept_n])  # held rows in the kept region, swapped with ...
    back_kept = kept_n + np.flatnonzero(~is_held[kept_n:])  # ... as many kept rows in the held region
    for a in [*_arrays(x), *_arrays(y)]:
        for start in range(0, len(front_held), SWAP_ROWS):  # a few rows at a time: the copies stay small
            front, back = front_held[start : start + SWAP_ROWS], back_kept[start : start + SWAP_ROWS]
            moved = a[front]
            a[front] = a[back]
            a[back] = moved
    head, tail = slice(0, kept_n), slice(kept_n, n)
    return take(x, head), take(y, head), (take(x, tail), take(y, tail))


def _arrays(a: Any) -> list[np.ndarray]:
    return list(a.values()) if isinstance(a, dict) else [a]


def _split(y: np.ndarray, fraction: float, seed: int, stratify: bool, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out) with ``fraction`` held out; stratified when possible."""
    index = np.arange(num_examples(y))
    if fraction == 0:
        return index, index[:0]
    from sklearn.model_selection import train_test_split

    try:
        if stratify:
            try:
                return tuple(train_test_split(index, test_size=fraction, random_state=seed, stratify=y))
            except ValueError:  # a class too small for a stratified split: split at random
                pass
        return tuple(train_test_split(index, test_size=fraction, random_state=seed))
    except ValueError as err:
        raise ConfigError(f"{key}={fraction}: cannot split {len(index)} examples ({err})") from None


def num_examples(a: Any) -> int:
    """Examples in an array, or in a dict of arrays keyed by input or output name."""
    return len(next(iter(a.values()))) if isinstance(a, dict) else len(a)


def take(a: Any, index: np.ndarray | slice) -> Any:
    """The examples ``index`` of an array, or of each array of a dict."""
    return {name: v[index] for name, v in a.items()} if isinstance(a, dict) else a[index]


def _limit(x: Any, y: Any, n: int, rng: np.random.Generator) -> tuple[Any, Any]:
    if num_examples(x) <= n:
        return x, y
    keep = np.sort(rng.choice(num_examples(x), size=n, replace=False))
    return take(x, keep), take(y, keep)


def _inputs(x: Any, scale: float, spec: DataSpec) -> Any:
    if spec.inputs is None:
        return _x(x, scale, spec.input_dtype)
    return {name: _x(x[name], scale, spec.inputs[name].dtype) for name in spec.inputs}


def _targets(y: Any, spec: DataSpec) -> Any:
    if spec.outputs is None:
        return _y(y, spec.task)
    return {name: _y(y[name], output.task) for name, output in spec.outputs.items()}


def _x(x: np.ndarray, scale: float, dtype: str = "float32") -> np.ndarray:
    if dtype != "float32":  # integer tokens stay tokens
        return x.astype(dtype, copy=False)
    x = x.astype(np.float32, copy=False)  # the dataset's own rows (make_dataset): scaled in place
    if scale != 1:
        x /= np.float32(scale)
    return x


def _y(y: np.ndarray, task: str) -> np.ndarray:
    if task == "multiclass":
        return y.astype(np.int32).reshape(-1)
    y = y.astype(np.float32)
    return y.reshape(-1, 1) if y.ndim == 1 else y  # (n, steps, 1) targets of seq-to-seq stay as they are
