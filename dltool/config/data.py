"""What the schemas of the ``data`` group share: the split keys, the text keys, the tasks.

Each data source is one module of :mod:`dltool.data`, its schema beside its loader: a dataclass deriving from
:class:`DataConfig` (or :class:`SplitDataConfig`) that registers itself with ``@option("data")``
(:mod:`dltool.config.registry`). The first read of ``SCHEMAS["data"]`` imports those modules.

Example:
    >>> from dltool.config.registry import SCHEMAS
    >>> SCHEMAS["data"]["csv"]().number_bins
    16
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from dltool.config.fields import opt

if TYPE_CHECKING:
    from dltool.config.model import ModelConfig

TASKS = ("multiclass", "binary", "regression")


@dataclass
class DataConfig:
    #: ``module:attribute`` of the source's :class:`~dltool.data.base.Source` (its spec, load and check
    #: functions), imported when the data is read
    source: ClassVar[str]

    name: str = opt(help="dataset; see `dltool list data`")
    validation_split: float = opt(0.1, "fraction of the training split held out for validation", ge=0.0, lt=1.0)
    seed: int | None = opt(None, "seed of the splits and of generated data (null: trainer.seed)")
    max_samples: int | None = opt(None, "use at most this many examples of each split (quick runs)", gt=0)

    def seed_or(self, trainer_seed: int) -> int:
        """The seed of the splits, shuffles and generated data: this config's own, else the trainer's."""
        return trainer_seed if self.seed is None else self.seed


@dataclass
class SplitDataConfig(DataConfig):
    """A dataset with no test split of its own: ``test_split`` of it is held out."""

    test_split: float = opt(0.2, "fraction of the data held out as the test split", gt=0.0, lt=1.0)


@dataclass
class TextConfig:
    vocab_size: int = opt(10000, "TextVectorization: vocabulary size, padding and unknown tokens included", gt=2)
    sequence_length: int = opt(200, "tokens per example (longer texts cut, shorter padded with 0)", gt=0)
    vectorize: str = opt(
        "auto",
        "tf_idf: a TF-IDF bag of words and word pairs (vocab_size features); int: token sequences; "
        "auto: int for a model with a token embedding (rnn, conv1d, transformer), else tf_idf",
        choices=("auto", "tf_idf", "int"),
    )

    def follow_model(self, model: ModelConfig) -> None:
        """Resolve ``vectorize=auto`` for ``model``: token sequences for a model that embeds tokens (it has an
        ``embedding_dim``), else the TF-IDF bag (mlp, perceptron: the strong simple default)."""
        if self.vectorize == "auto":
            self.vectorize = "int" if hasattr(model, "embedding_dim") else "tf_idf"
