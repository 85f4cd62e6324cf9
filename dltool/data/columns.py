"""The type of each feature column of a table, and the encoders that are not a plain statistic.

The types (``data.columns`` sets them by name, :func:`infer` the others): ``number``, ``binary``, ``category``,
``text``, ``sequence`` and ``image``; every statistic is the training split's. The table of docs/data.md says when
each is inferred and how it is encoded.

Example:
    >>> cells = np.array(["a fine day", "rain all day", "x"], dtype=object)
    >>> infer(cells, numeric=False)
    ('text', '3 distinct values in 3 rows, 67% with spaces')
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from dltool.data.images import IMAGE_SUFFIXES
from dltool.errors import ConfigError, did_you_mean

TYPES = ("number", "binary", "category", "text", "sequence", "image")
OTHER_CATEGORY = "<other>"

#: a non-numeric column is text when at least this share of its cells holds a space ...
TEXT_SPACES = 0.5
#: ... and at least this share of its cells is distinct (a category repeats its few values)
TEXT_DISTINCT = 0.5
#: a column of space-separated numbers is a sequence when more than this share of its cells holds two or more
SEQUENCE_SHARE = 0.5


def infer(
    cells: np.ndarray, numeric: bool, values: np.ndarray | None = None, folder: Path | None = None
) -> tuple[str, str]:
    """The type of a column of non-missing ``cells`` and why: numbers are ``number`` (``binary`` when all 0 or 1,
    ``values`` being their floats); paths of image files (relative to ``folder``) ``image``; space-separated
    numbers ``sequence``; text cells ``text`` when mostly distinct and with spaces, else ``category``."""
    images = folder is not None and len(cells) and all(str(c).lower().endswith(IMAGE_SUFFIXES) for c in cells)
    if images and (folder / cells[0]).is_file():  # an absolute cell replaces the folder
        return "image", f"paths of image files ({cells[0]}...)"
    if numeric:
        if values is not None and len(values) and set(np.unique(values)) <= {0.0, 1.0}:
            return "binary", "numbers that are all 0 or 1"
        return "number", "numbers"
    lengths = number_counts(cells)
    if len(cells) and lengths is not None and np.mean(lengths >= 2) > SEQUENCE_SHARE:
        return "sequence", f"space-separated numbers, {np.median(lengths):.0f} in the median cell"
    distinct = len(set(cells.tolist()))
    spaces = float(np.mean([" " in c for c in cells])) if len(cells) else 0.0
    why = f"{distinct:,} distinct values in {len(cells):,} rows, {spaces:.0%} with spaces"
    if len(cells) and spaces >= TEXT_SPACES and distinct >= TEXT_DISTINCT * len(cells):
        return "text", why
    return "category", why


def number_counts(cells: np.ndarray) -> np.ndarray | None:
    """How many space-separated numbers each cell holds; None when a cell holds anything else.

    >>> number_counts(np.array(["1 2.5 3", "4"])).tolist(), number_counts(np.array(["1 a"]))
    ([3, 1], None)
    """
    try:
        return np.array([len([float(p) for p in cell.split()]) for cell in cells], dtype=np.int64)
    except ValueError:
        return None


def declared(columns: dict[str, Any], header: tuple[str, ...], path: Any) -> dict[str, str]:
    """``data.columns`` checked: known columns, known type names (a one-line ConfigError otherwise)."""
    types = {}
    for name, kind in (columns or {}).items():
        if name not in header:
            raise ConfigError(
                f"data.columns.{name}: no column {name!r} in {path}{did_you_mean(str(name), header)}; "
                f"columns: {', '.join(header)}"
            )
        if kind not in TYPES:
            raise ConfigError(
                f"data.columns.{name}={kind}: unknown column type{did_you_mean(str(kind), TYPES)}; "
                f"choose one of {', '.join(TYPES)}"
            )
        types[str(name)] = str(kind)
    return types


def most_frequent(counts: Counter[str], categories: tuple[str, ...], keep: int) -> tuple[str, ...]:
    """The ``keep`` categories most frequent in the training cells (``counts``: how often each one is there;
    ties: in ``categories``' order).

    >>> most_frequent(Counter(["b", "c", "c"]), ("a", "b", "c"), 2)
    ('c', 'b')
    """
    order = sorted(range(len(categories)), key=lambda i: (-counts[categories[i]], i))
    return tuple(categories[i] for i in order[:keep])


def one_hot(cells: list[str], categories: tuple[str, ...], other: bool) -> np.ndarray:
    """One column per category (the last one ``<other>`` for every cell not among them when ``other``)."""
    index = {c: i for i, c in enumerate(categories)}
    encoded = np.zeros((len(cells), len(categories) + int(other)), dtype=np.float32)
    for row, cell in enumerate(cells):
        column = index.get(cell, len(categories) if other else None)
        if column is not None:
            encoded[row, column] = 1.0
    return encoded


def quantile_edges(train_values: np.ndarray, bins: int) -> np.ndarray:
    """The ``bins + 1`` edges of equal-count bins of the training values (repeated edges where values repeat).

    >>> quantile_edges(np.arange(9.0), 4)
    array([0., 2., 4., 6., 8.])
    """
    return np.quantile(train_values, np.linspace(0.0, 1.0, bins + 1))


def piecewise_linear(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each value as one entry per bin: 1 for the bins wholly below it, its position within its own bin, 0 above
    (a bin of repeated edges is a step: 1 from its edge up). An MLP reads thresholds from these entries as a
    tree cuts them, where a single standardized value makes it approximate a step with a slope.

    >>> piecewise_linear(np.array([1.0, 5.0, 9.0]), np.array([0.0, 4.0, 8.0]))
    array([[0.25, 0.  ],
           [1.  , 0.25],
           [1.  , 1.  ]], dtype=float32)
    """
    low, high = edges[:-1], edges[1:]
    width = high - low
    inside = (values[:, None] - low) / np.where(width > 0, width, 1.0)
    steps = (values[:, None] >= high).astype(np.float64)
    return np.clip(np.where(width > 0, inside, steps), 0.0, 1.0).astype(np.float32)


class VectorizedColumn:
    """A column of text cells made numbers by a fitted Keras ``TextVectorization`` layer, encoded in batches (a
    large table's vectors are built in parts). Subclasses configure the layer."""

    layer: Any
    width: int
    dtype: Any = np.float32

    def __init__(self, layer: Any, train_cells: Any) -> None:
        self.layer = layer
        self.layer.adapt(np.asarray(train_cells, dtype=str) if isinstance(train_cells, np.ndarray) else train_cells)

    @property
    def vocabulary_size(self) -> int:
        return int(self.layer.vocabulary_size())

    def encode(self, cells: np.ndarray, batch: int = 4096) -> np.ndarray:
        """``(len(cells), width)`` values of the layer, in batches."""
        import keras

        texts = np.asarray(cells, dtype=str)
        parts = [keras.ops.convert_to_numpy(self.layer(texts[i : i + batch])) for i in range(0, len(texts), batch)]
        return np.concatenate(parts).astype(self.dtype) if parts else np.zeros((0, self.width), self.dtype)


class TextColumn(VectorizedColumn):
    """A TF-IDF vector of ``tokens`` entries per cell (unused ones 0): Keras ``TextVectorization`` over words and
    word pairs, fitted on the training cells (missing ones empty; a ``tf.data.Dataset`` of batches of them for a
    table read in parts)."""

    def __init__(self, train_cells: Any, tokens: int) -> None:
        import keras

        self.tokens = self.width = int(tokens)
        layer = keras.layers.TextVectorization(
            max_tokens=self.tokens, output_mode="tf_idf", ngrams=2, pad_to_max_tokens=True
        )
        super().__init__(layer, train_cells)


def number_sequences(cells: np.ndarray, length: int) -> np.ndarray:
    """``(len(cells), length)`` float64 values of space-separated numbers (longer cut, shorter padded with NaN).

    >>> number_sequences(np.array(["1 2 3", ""]), 2).tolist()
    [[1.0, 2.0], [nan, nan]]
    """
    values = np.full((len(cells), length), np.nan)
    for row, cell in enumerate(cells):
        found = [float(p) for p in cell.split()[:length]]
        values[row, : len(found)] = found
    return values


class TokenColumn(VectorizedColumn):
    """``length`` integer ids per cell of space-separated tokens (longer cut, shorter padded with 0; 1: a token not
    in the vocabulary): Keras ``TextVectorization`` split on whitespace, cells taken as written, its vocabulary of
    at most ``max_tokens`` ids (padding and unknown included: the model's embedding rows) fitted on the training
    cells (missing ones empty)."""

    dtype = np.int32

    def __init__(self, train_cells: np.ndarray, length: int, max_tokens: int) -> None:
        import keras

        self.length = self.width = int(length)
        self.max_tokens = int(max_tokens)
        layer = keras.layers.TextVectorization(
            max_tokens=self.max_tokens,
            standardize=None,
            split="whitespace",
            output_mode="int",
            output_sequence_length=self.length,
        )
        super().__init__(layer, train_cells)


def token_vocabulary(cells: np.ndarray, cap: int) -> int:
    """Ids a token column needs: its distinct tokens (in the whole column, so that the model's size is known before
    the split) and the padding and unknown ids, at most ``cap``.

    >>> token_vocabulary(np.array(["a b", "b c"]), 100)
    5
    """
    return min(int(cap), len({token for cell in cells for token in cell.split()}) + 2)


class CategoryIds:
    """One integer id per cell: 1, 2... for the categories found in the training cells (in ``categories``' order),
    0 for any other value (the combiner's embedding leaves 0 out: an unseen value adds nothing).

    >>> ids = CategoryIds(np.array(["b", "a", "b"]), ("a", "b", "c"))
    >>> ids.encode(np.array(["a", "b", "c", "z"])).ravel().tolist(), ids.vocabulary_size
    ([1, 2, 0, 0], 3)
    """

    def __init__(self, train_cells: np.ndarray, categories: tuple[str, ...]) -> None:
        seen = set(train_cells.tolist())
        self.index = {c: i for i, c in enumerate((c for c in categories if c in seen), start=1)}

    @property
    def vocabulary_size(self) -> int:
        return len(self.index) + 1

    def encode(self, cells: np.ndarray) -> np.ndarray:
        """``(len(cells), 1)`` int32 ids."""
        return np.array([self.index.get(c, 0) for c in cells], dtype=np.int32).reshape(-1, 1)
