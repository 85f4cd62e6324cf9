"""The encoding of a table's feature columns into one float32 matrix (and the columns read as model inputs of
their own, :mod:`dltool.data.column_inputs`), fitted on the training rows.

:meth:`Encoder.fit` takes the training cells from a :class:`TrainCells`: a table in memory
(:class:`TableRows`), or the cells gathered while a file is read in parts
(:mod:`dltool.data.table_stream`); both give the same statistics, hence the same encoding.

Example:
    >>> table = Table(Path("t.csv"), ("a",), {"a": np.array(["1", "", "3"], dtype=object)})
    >>> Encoder({"a": (2.0, 2.0, 1.0)}, {}).encode(table).ravel().tolist()
    [-1.0, 0.0, 1.0]
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from dltool.data import column_inputs
from dltool.data.base import num_examples
from dltool.data.columns import (
    OTHER_CATEGORY,
    CategoryIds,
    TextColumn,
    TokenColumn,
    most_frequent,
    one_hot,
    piecewise_linear,
    quantile_edges,
)
from dltool.data.tables import MISSING_CATEGORY, Table, category, column, read_path, texts
from dltool.errors import ConfigError

if TYPE_CHECKING:
    from dltool.data.table_plan import Plan


class TrainCells(Protocol):
    """The training rows' cells as :meth:`Encoder.fit` needs them: from a table in memory (:class:`TableRows`), or
    gathered from a file read in parts (:mod:`dltool.data.table_stream`)."""

    size: int  # training rows

    def floats(self, name: str) -> np.ndarray:
        """A numeric column's training values as float64 (NaN where missing), in the training split's order."""

    def counts(self, name: str) -> Counter[str]:
        """How often each value is in a category or binary column's training cells (missing: ``<missing>``)."""

    def texts(self, name: str) -> Any:
        """A text column's training cells (missing: empty), or a ``tf.data.Dataset`` of batches of them."""

    def own_inputs(self, plan: Plan, normalize: bool) -> tuple[dict, dict]:
        """The statistics of the number sequences and the token columns (:func:`column_inputs.fit`)."""


class TableRows:
    """The cells of rows ``rows`` of a table in memory."""

    def __init__(self, table: Table, rows: np.ndarray) -> None:
        self.table, self.rows, self.size = table, rows, len(rows)

    def floats(self, name: str) -> np.ndarray:
        return self.table.floats(name)[self.rows]

    def counts(self, name: str) -> Counter[str]:
        return Counter(category(c) for c in self.table.columns[name][self.rows])

    def texts(self, name: str) -> np.ndarray:
        return texts(self.table.columns[name][self.rows])

    def own_inputs(self, plan: Plan, normalize: bool) -> tuple[dict, dict]:
        return column_inputs.fit(self.table, plan, self.rows, normalize)


def missing_counts(table: Table, rows: np.ndarray, columns: tuple[str, ...]) -> dict[str, int]:
    """Each column's missing cells among ``rows``."""
    return {name: int(table.missing(name)[rows].sum()) for name in columns}


@dataclass(frozen=True)
class Encoder:
    """Numeric features: missing cells filled, standardized; categorical ones one-hot (unknown values: zeros, or
    ``<other>`` for a column cut to its most frequent values); binary ones 0/1; text ones TF-IDF vectors."""

    numeric: dict[str, tuple[float, float, float]]  # column -> (fill, mean, std)
    categorical: dict[str, tuple[str, ...]]
    other: dict[str, int] = field(default_factory=dict)  # column cut to its most frequent values -> all values
    binary: dict[str, tuple[str, float]] = field(default_factory=dict)  # text column -> (the value of 1, fill)
    text: dict[str, TextColumn] = field(default_factory=dict)
    sequence: dict[str, tuple[float, float]] = field(default_factory=dict)  # numbers -> (mean, std)
    tokens: dict[str, TokenColumn | CategoryIds] = field(default_factory=dict)  # ids: model inputs of their own
    sequence_length: int = 0
    images: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # image columns -> their example shape
    edges: dict[str, np.ndarray] = field(default_factory=dict)  # number column -> its quantile bins' edges

    @classmethod
    def fit(cls, plan: Plan, train: TrainCells, normalize: bool) -> Encoder:
        """Statistics of the training rows: median (the fill), mean and std of each numeric column; the most
        frequent categories of a column of many; each text column's vocabulary."""
        numeric, edges = {}, {}
        for name in plan.numeric:
            values = train.floats(name)
            fill = float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0
            values = np.where(np.isnan(values), fill, values)
            scaled = normalize and name not in plan.binary  # 0/1 columns stay 0/1
            mean, std = (float(values.mean()), float(values.std() or 1.0)) if scaled else (0.0, 1.0)
            numeric[name] = (fill, mean, std)
            if name in plan.binned:
                edges[name] = quantile_edges(values, plan.number_bins)
        categorical, other = {}, {}
        for name, categories in plan.categorical.items():
            if plan.max_categories is not None and len(categories) > plan.max_categories:
                other[name] = len(categories)
                categories = most_frequent(train.counts(name), categories, plan.max_categories - 1)
            categorical[name] = categories
        binary = {}
        for name, values in plan.binary.items():
            if values is not None:
                binary[name] = (values[1], float(train.counts(name)[values[1]] / train.size > 0.5))
        text = {name: TextColumn(train.texts(name), plan.text_tokens) for name in plan.text}
        sequence, tokens = train.own_inputs(plan, normalize)
        return cls(
            numeric, categorical, other, binary, text, sequence, tokens, plan.sequence_length, plan.images, edges
        )

    def decisions(self, missing: dict[str, int]) -> list[str]:
        """One line per column whose cells were filled (``missing``: each column's missing cells in the rows kept),
        and per one-hot encoded column.

        >>> table = Table(Path("t.csv"), ("a", "c"), {"a": np.array(["1", "", "3"]), "c": np.array(["x", "y", "?"])})
        >>> encoder = Encoder({"a": (2.0, 0.0, 1.0)}, {"c": ("x", "y", "<missing>")})
        >>> encoder.decisions(missing_counts(table, np.arange(3), encoder.columns))
        ["column 'a': 1 missing cell filled with 2 (the training median)", \
"column 'c': one-hot encoded over 3 categories (x, y, <missing>); 1 missing cell is the category <missing>"]
        """
        lines = []
        if self.edges:
            bins = len(next(iter(self.edges.values()))) - 1
            names = ", ".join(repr(name) for name in self.edges)
            lines.append(
                f"columns {names}: standardized, and piecewise-linear over {bins} quantile bins of the training "
                "split (data.number_bins)"
            )
        for name, (fill, _, _) in self.numeric.items():
            if missing[name]:
                cells = "cell" if missing[name] == 1 else "cells"
                lines.append(
                    f"column {name!r}: {missing[name]} missing {cells} filled with {fill:.6g} (the training median)"
                )
        for name, categories in self.categorical.items():
            shown = ", ".join(categories[:5]) + (", ..." if len(categories) > 5 else "")
            line = f"column {name!r}: one-hot encoded over {len(categories)} categories ({shown})"
            if name in self.other:
                line = (
                    f"column {name!r}: {self.other[name]:,} categories; one-hot encoded over the {len(categories)} "
                    f"most frequent in the training split ({shown}) and {OTHER_CATEGORY} (data.max_categories)"
                )
            if missing[name]:
                many = missing[name] > 1
                line += f"; {missing[name]} missing cell{'s are' if many else ' is'} the category {MISSING_CATEGORY}"
            lines.append(line)
        return lines

    def encode(self, table: Table, rows: np.ndarray | None = None, columns: list[str] | None = None) -> np.ndarray:
        """The float32 feature matrix of ``rows`` of ``table`` (all rows when None): every feature column's block,
        or only those of ``columns`` (e.g. the columns of one named model input), in :attr:`columns`' order."""
        rows = np.arange(len(next(iter(table.columns.values())))) if rows is None else rows
        wanted = set(self.columns if columns is None else columns)
        unknown = sorted(wanted - set(self.columns))
        if unknown:
            raise ConfigError(f"{unknown[0]}: not a feature column; feature columns: {', '.join(self.columns)}")
        parts = [self._encode_column(table, name, rows) for name in self.columns if name in wanted]
        return np.concatenate(parts, axis=1).astype(np.float32)

    def _encode_column(self, table: Table, name: str, rows: np.ndarray) -> np.ndarray:
        if name in self.numeric:
            fill, mean, std = self.numeric[name]
            values = table.floats(name)[rows]
            values = np.where(np.isnan(values), fill, values)
            scaled = ((values - mean) / std)[:, None]
            if name in self.edges:
                scaled = np.concatenate([scaled, piecewise_linear(values, self.edges[name])], 1)
            return scaled
        if name in self.categorical:
            cells = [category(c) for c in table.columns[name][rows]]
            return one_hot(cells, self.categorical[name], other=name in self.other)
        if name in self.binary:
            positive, fill = self.binary[name]
            missing = table.missing(name)[rows]
            return np.where(missing, fill, table.columns[name][rows] == positive).astype(np.float32)[:, None]
        if name in self.sequence:
            return column_inputs.encode_numbers(table.columns[name][rows], self.sequence[name], self.sequence_length)
        return self.text[name].encode(texts(table.columns[name][rows]))

    def inputs(self, table: Table, rows: np.ndarray) -> Any:
        """The model's ``x`` of ``rows``: the feature matrix, or a dict of it and each id or image column's input."""
        if not self.tokens and not self.images:
            return self.encode(table, rows)
        x = {column_inputs.FEATURES: self.encode(table, rows)} if self.columns else {}
        for name, encoder in self.tokens.items():
            x[name] = column_inputs.ids(encoder, table.columns[name][rows])
        for name, shape in self.images.items():
            x[name] = column_inputs.images(table, name, rows, shape)
        return x

    def type_decisions(self, plan: Plan) -> list[str]:
        """What became of the binary, text, sequence, image and embedded category columns, and why."""
        lines = []
        for name, values in plan.binary.items():
            coded = "its 0/1 values kept" if values is None else f"1 for {values[1]!r}, 0 for {values[0]!r}"
            lines.append(f"column {name!r}: binary ({plan.why[name]}): {coded}")
        for name, text in self.text.items():
            lines.append(
                f"column {name!r}: text (tf-idf, {text.vocabulary_size:,} tokens of words and word pairs fitted on "
                f"the training split; {plan.why[name]})"
            )
        for name in plan.sequence:
            mean, std = self.sequence[name]
            lines.append(
                f"column {name!r}: sequence of numbers ({plan.why[name]}): {plan.sequence_length} values "
                f"(data.sequence_length; longer cut, shorter padded with 0), standardized with mean {mean:.6g} and "
                f"std {std:.6g}"
            )
        for name, shape in plan.images.items():
            lines.append(
                f"column {name!r}: image ({plan.why[name]}): decoded at {shape[0]}x{shape[1]}x{shape[2]} "
                f"(data.image_size, data.color_mode), in [0, 1]; the model input {name!r}, convolved by model=mlp's "
                "combiner"
            )
        for name, ids in self.tokens.items():
            if name in plan.embedded:
                lines.append(
                    f"column {name!r}: category ({plan.why[name]}): {plan.embedded[name] - 1:,} values, over "
                    f"data.max_categories={plan.max_categories}: an integer id each, {ids.vocabulary_size - 1:,} "
                    "found in the training split (0: any other value; data.embed_categories); the model input "
                    f"{name!r}, embedded by model=mlp's combiner"
                )
                continue
            lines.append(
                f"column {name!r}: sequence of tokens ({plan.why[name]}): {plan.sequence_length} ids "
                f"(data.sequence_length), a vocabulary of {ids.vocabulary_size:,} fitted on the training split; "
                f"the model input {name!r}, embedded by model=mlp's combiner"
            )
        return lines

    @property
    def columns(self) -> tuple[str, ...]:
        """The feature columns, in the order of the matrix's blocks."""
        return (*self.numeric, *self.categorical, *self.binary, *self.text, *self.sequence)

    def read(self, path: Path, delimiter: str) -> tuple[list[str], np.ndarray | dict[str, np.ndarray]]:
        """Names (``file:line``) and encoded features (and token columns) of another CSV's rows."""
        table = read_path(path, delimiter)
        for name in (*self.columns, *self.tokens, *self.images):
            column(table, name, "data.features")
        try:
            features = self.inputs(table, np.arange(len(table.columns[table.header[0]])))
        except ValueError as err:
            raise ConfigError(f"{path}: a numeric feature column holds text ({err})") from None
        return [f"{path}:{line}" for line in range(2, num_examples(features) + 2)], features
