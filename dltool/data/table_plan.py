"""What the config makes of a table: its targets, its feature columns by type, the task and the classes.

Built by :mod:`dltool.data.tabular` from the config and the table's cells, read by the encoder
(:mod:`dltool.data.table_encoder`) and by the columns that become model inputs of their own
(:mod:`dltool.data.column_inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dltool.data.base import OutputSpec


@dataclass(frozen=True)
class Plan:
    """What the config makes of a table: targets, the features of each type, task, classes."""

    targets: tuple[str, ...]
    numeric: tuple[str, ...]  # number columns, and binary ones of 0/1 numbers (not standardized)
    categorical: dict[str, tuple[str, ...]]  # column -> its categories, in sorted order
    task: str
    class_names: tuple[str, ...] | None
    binary: dict[str, tuple[str, str] | None] = field(default_factory=dict)  # column -> its 2 values (None: 0/1)
    text: tuple[str, ...] = ()
    why: dict[str, str] = field(default_factory=dict)  # column -> why it has its type
    max_categories: int | None = None
    text_tokens: int = 0
    sequence: tuple[str, ...] = ()  # sequence columns of numbers (in the feature matrix)
    tokens: dict[str, int] = field(default_factory=dict)  # sequence columns of tokens -> their vocabulary size
    sequence_length: int = 0
    images: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # image columns -> their example shape
    embedded: dict[str, int] = field(default_factory=dict)  # category columns read as ids -> their vocabulary size
    number_bins: int = 0
    outputs: dict[str, OutputSpec] = field(default_factory=dict)  # named outputs, one per target (in their order)

    @property
    def binned(self) -> tuple[str, ...]:
        """The number columns encoded piecewise-linearly too (not the 0/1 ones)."""
        return tuple(name for name in self.numeric if name not in self.binary) if self.number_bins else ()

    @property
    def width(self) -> int:
        one_hot = sum(min(len(c), self.max_categories or len(c)) for c in self.categorical.values())
        strings = sum(1 for values in self.binary.values() if values is not None)
        sequences = self.sequence_length * len(self.sequence)
        numbers = len(self.numeric) + self.number_bins * len(self.binned)
        return numbers + one_hot + strings + self.text_tokens * len(self.text) + sequences

    @property
    def features(self) -> tuple[str, ...]:
        """The feature columns, by type (a 0/1 binary column twice)."""
        own = (*self.sequence, *self.tokens, *self.images, *self.embedded)  # dltool.data.column_inputs'
        return (*self.numeric, *self.categorical, *self.binary, *self.text, *own)

    def kind(self, name: str) -> str:
        """The column's type (see :mod:`dltool.data.columns`)."""
        if name in self.binary:
            return "binary"
        if name in self.images:
            return "image"
        if name in self.sequence or name in self.tokens:
            return "sequence"
        if name in self.categorical or name in self.embedded:
            return "category"
        return "text" if name in self.text else "number"
