"""``data=csv``'s columns read as model inputs of their own, and its number sequences.

Token sequence columns, image columns and (``data.embed_categories``) category columns of more than
``data.max_categories`` values are each a named input, which ``model=mlp``'s combiner embeds or convolves; the
dataset's ``x`` is then a dict of ``features`` (the matrix of the other columns, when there are any) and one
entry per such column, the target staying the single output. A sequence of numbers is ``data.sequence_length``
standardized columns of the feature matrix.

Example:
    >>> from dltool.data.tables import Table
    >>> from pathlib import Path
    >>> cells = {"n": np.array(["1 2 3", "4 5"], dtype=object), "t": np.array(["a b", "b c"], dtype=object)}
    >>> sequence_kinds(Table(Path("t.csv"), ("n", "t"), cells), ["n", "t"])  # t: 3 tokens, padding and unknown
    ({'n': None}, {'t': 5})
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dltool.data.base import DataSpec, InputSpec, named_spec
from dltool.data.columns import CategoryIds, TokenColumn, number_counts, number_sequences, token_vocabulary
from dltool.data.tables import MISSING, Table, categories, texts
from dltool.errors import ConfigError

if TYPE_CHECKING:
    from dltool.data.table_plan import Plan

FEATURES = "features"  # the input of the feature matrix, beside the token columns' inputs


def own_inputs(cfg: Any, table: Table, types: dict[str, tuple[str, str]]) -> tuple[dict, dict, dict, dict]:
    """The plan's number sequences, token columns (with their vocabulary size), image columns (with their
    example shape; each file checked) and, with ``data.embed_categories``, the category columns of more than
    ``data.max_categories`` values (with their vocabulary size: the values and the unknown id 0)."""
    sequences = [f for f, (kind, _) in types.items() if kind == "sequence"]
    numbers, tokens = sequence_kinds(table, sequences, cfg.text_tokens)
    shape = (*(int(s) for s in cfg.image_size), 1 if cfg.color_mode == "grayscale" else 3)
    images = {name: shape for name, (kind, _) in types.items() if kind == "image"}
    for name in images:
        for line, path in _image_paths(table, name, np.arange(len(table.columns[name]))):
            if path is not None and not path.is_file():
                raise ConfigError(f"{table.path}:{line}: column {name!r}: no image file {path}")
    wanted = [n for n, (kind, _) in types.items() if cfg.embed_categories and kind == "category"]
    values = {n: len(set(categories(table.columns[n]).tolist())) for n in wanted}
    embedded = {n: v + 1 for n, v in values.items() if v > cfg.max_categories}
    return numbers, tokens, images, embedded


def sequence_kinds(table: Table, names: list[str], cap: int = 5000) -> tuple[dict[str, None], dict[str, int]]:
    """The number sequence columns (dict keys, in order), and the token ones with their vocabulary (<= ``cap``)."""
    numbers, tokens = {}, {}
    for name in names:
        cells = texts(table.columns[name])
        if number_counts(cells) is not None:
            numbers[name] = None
        else:
            tokens[name] = token_vocabulary(cells, cap)
    return numbers, tokens


def spec(plan: Plan) -> DataSpec:
    """The spec of a table with columns read as inputs of their own: ``features`` (when the plan has other
    features), an int32 input per token or embedded category column, a float32 one per image column; the plan's
    single task."""
    outputs = len(plan.class_names) if plan.task == "multiclass" else len(plan.targets)
    inputs = {FEATURES: InputSpec((plan.width,))} if plan.width else {}
    for name, vocabulary in plan.tokens.items():
        inputs[name] = InputSpec((plan.sequence_length,), "int32", vocabulary)
    for name, shape in plan.images.items():
        inputs[name] = InputSpec(shape)
    for name, vocabulary in plan.embedded.items():
        inputs[name] = InputSpec((1,), "int32", vocabulary)
    return named_spec(inputs, None, plan.task, outputs, plan.class_names)


def fit(table: Table, plan: Plan, train_rows: np.ndarray, normalize: bool) -> tuple[dict, dict]:
    """Each number sequence's (mean, std) over its training numbers; each token column's vocabulary and each
    embedded category column's ids, fitted on the training rows."""
    stats = {}
    for name in plan.sequence:
        values = number_sequences(texts(table.columns[name][train_rows]), plan.sequence_length)
        present = values[~np.isnan(values)]
        stats[name] = (float(present.mean()), float(present.std() or 1.0)) if normalize and present.size else (0.0, 1.0)
    tokens = {
        name: TokenColumn(texts(table.columns[name][train_rows]), plan.sequence_length, vocabulary)
        for name, vocabulary in plan.tokens.items()
    }
    for name in plan.embedded:  # read as the token columns are: ids, a model input of their own
        values = tuple(sorted(set(categories(table.columns[name]).tolist())))
        tokens[name] = CategoryIds(categories(table.columns[name][train_rows]), values)
    return stats, tokens


def encode_numbers(cells: np.ndarray, stats: tuple[float, float], length: int) -> np.ndarray:
    """A number sequence's block of the feature matrix: standardized values, padding 0."""
    mean, std = stats
    values = (number_sequences(texts(cells), length) - mean) / std
    return np.nan_to_num(values, nan=0.0)


def ids(column: TokenColumn | CategoryIds, cells: np.ndarray) -> np.ndarray:
    """A token or embedded category column's integer ids of ``cells``."""
    return column.encode(categories(cells) if isinstance(column, CategoryIds) else texts(cells))


def images(table: Table, name: str, rows: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """The float32 images of ``rows`` of an image column (a missing cell: zeros); a ConfigError for a bad file."""
    from dltool.data.images import decode_images, scaled

    paths = _image_paths(table, name, rows)
    found = [(line, path) for line, path in paths if path is not None]
    decoded, ok = decode_images([str(path) for _, path in found], shape[:2], shape[2])
    for (line, path), good in zip(found, ok, strict=True):
        if not good:
            what = "no image file" if not path.is_file() else "not a readable image"
            raise ConfigError(f"{table.path}:{line}: column {name!r}: {what} {path}")
    images = np.zeros((len(rows), *shape), dtype=np.uint8)
    images[[path is not None for _, path in paths]] = decoded
    return scaled(images)


def _image_paths(table: Table, name: str, rows: np.ndarray) -> list[tuple[int, Path | None]]:
    """Each row's line in the table and its image's path (relative to the table's folder; None: missing)."""
    cells = table.columns[name][rows]
    return [
        (int(row) + 2, None if c.lower() in MISSING else table.path.parent / c)
        for row, c in zip(rows, cells, strict=True)
    ]
