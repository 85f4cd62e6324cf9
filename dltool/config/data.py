"""Typed schemas of the ``data`` group: one dataclass per data source, registered by name.

Each registers itself with ``@option("data")`` under its ``name`` default, or the names given
(:mod:`dltool.config.registry`); a ``conf/data/<name>.yaml``, if any, is validated against it. The docstring's
first paragraph is the option's line in ``dltool list data``; field metadata carries the constraints
(``choices``, bounds) and a one-line help text.

Example:
    >>> from dltool.config.registry import SCHEMAS
    >>> SCHEMAS["data"]["csv"]().number_bins
    16
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from dltool.config.fields import opt
from dltool.config.registry import option

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


@dataclass
class SplitDataConfig(DataConfig):
    """A dataset with no test split of its own: ``test_split`` of it is held out."""

    test_split: float = opt(0.2, "fraction of the data held out as the test split", gt=0.0, lt=1.0)


@option("data")
@dataclass
class DigitsConfig(SplitDataConfig):
    source: ClassVar[str] = "dltool.data.digits:SOURCE"
    name: str = "digits"


@option("data", "xor", "blobs", "flower", "spirals")
@dataclass
class PointsConfig(SplitDataConfig):
    """Generated 2-D classification sets of the seeds (xor, blobs, flower, spirals)."""

    source: ClassVar[str] = "dltool.data.points:SOURCE"
    num_samples: int = opt(400, "number of generated points", gt=3)
    noise: float = opt(0.1, "standard deviation of the Gaussian noise", ge=0.0)


@option("data")
@dataclass
class FunctionConfig(SplitDataConfig):
    """1-D regression: y = x^3 + x^2 - x - 1 (+ noise) on [low, high]."""

    source: ClassVar[str] = "dltool.data.synthetic:FUNCTION"
    name: str = "function"
    num_samples: int = opt(1000, "number of generated points", gt=3)
    noise: float = opt(0.05, "standard deviation of the Gaussian noise on y", ge=0.0)
    low: float = opt(-2.0, "lower end of the x range")
    high: float = opt(2.0, "upper end of the x range")


@option("data")
@dataclass
class SyntheticConfig(SplitDataConfig):
    """Random inputs of any shape, for smoke tests and benchmarks."""

    source: ClassVar[str] = "dltool.data.synthetic:SYNTHETIC"
    name: str = "synthetic"
    input_shape: list[int] = opt([32, 32, 3], "shape of one example, without the batch axis")
    num_classes: int = opt(10, "number of classes (1 output for binary and regression)", ge=1)
    num_samples: int = opt(1000, "number of generated examples", gt=3)
    task: str = opt("multiclass", "what the labels are", choices=TASKS)


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


@option("data")
@dataclass
class QAConfig(SplitDataConfig):
    """The seeds' two-input model: text and question tokens -> answer (dltool/data/multi_io.py)."""

    source: ClassVar[str] = "dltool.data.multi_io:QA"
    name: str = "qa"
    num_samples: int = opt(2000, "number of generated (text, question, answer) examples", gt=3)
    text_length: int = opt(100, "tokens per text", gt=1)
    question_length: int = opt(20, "tokens per question", gt=0)
    text_vocab_size: int = opt(10000, "text tokens 0..text_vocab_size-1 (1..num_answers are answer markers)", gt=3)
    question_vocab_size: int = opt(10000, "question tokens (1 and 2 ask for the lower or upper answer)", gt=3)
    num_answers: int = opt(500, "number of answer classes", ge=2)
    markers: int = opt(3, "times each marker token is planted", ge=1)


@option("data")
@dataclass
class PostsConfig(SplitDataConfig):
    """The seeds' three-output model: post tokens -> age, income group, gender (dltool/data/multi_io.py)."""

    source: ClassVar[str] = "dltool.data.multi_io:POSTS"
    name: str = "posts"
    num_samples: int = opt(2000, "number of generated posts", gt=3)
    length: int = opt(300, "tokens per post", gt=2)
    vocab_size: int = opt(50000, "tokens 0..vocab_size-1 (the first ones are the planted markers)", gt=3)
    num_income_groups: int = opt(10, "income classes", ge=2)
    age_groups: int = opt(5, "age groups (2, 3, ... decades), each with its marker token", ge=1)
    markers: int = opt(3, "times each marker token is planted", ge=1)


@option("data")
@dataclass
class SentencePairsConfig(SplitDataConfig):
    """The seeds' siamese example: two sequences of word vectors -> same topic or not."""

    source: ClassVar[str] = "dltool.data.multi_io:SENTENCE_PAIRS"
    name: str = "sentence_pairs"
    num_samples: int = opt(2000, "number of generated pairs", gt=3)
    length: int = opt(20, "steps per sentence", gt=0)
    dim: int = opt(128, "size of each step's vector (the seeds' 128)", gt=0)
    topics: int = opt(10, "number of topics", ge=2)
    noise: float = opt(1.0, "standard deviation of the noise added to the topic's vector at each step", ge=0.0)


@option("data")
@dataclass
class CameraPairsConfig(SplitDataConfig):
    """The seeds' dual-camera example: two views of a coloured object -> its class."""

    source: ClassVar[str] = "dltool.data.multi_io:CAMERA_PAIRS"
    name: str = "camera_pairs"
    num_samples: int = opt(600, "number of generated pairs of views", gt=3)
    image_size: int = opt(96, "side of each view (the seeds' 250 is heavy on CPU)", gt=3)
    num_classes: int = opt(4, "object classes, one colour each", ge=2)
    noise: float = opt(0.3, "background noise, as a fraction of full brightness", ge=0.0, le=1.0)


@option("data", "mnist", "fashion_mnist", "cifar10", "cifar100")
@dataclass
class ArchiveConfig(DataConfig):
    """A classic dataset read from its standard archive (downloaded once, or placed by hand)."""

    source: ClassVar[str] = "dltool.data.archives:SOURCE"
    root: str | None = opt(None, "folder holding the archive (null: Keras' cache, ~/.keras/datasets)")


# ------------------------------------------------------ data: your own files
@option("data")
@dataclass
class ImageFolderConfig(SplitDataConfig):
    """Images in one sub-folder per class (or train/val/test sub-folders of them)."""

    source: ClassVar[str] = "dltool.data.images:SOURCE"
    name: str = "image_folder"
    root: str | None = opt(None, "folder of the class sub-folders (or of train/, val/, test/)")
    image_size: list[int] = opt([64, 64], "[height, width] the images are resized to")
    color_mode: str = opt(
        "auto",
        "rgb: 3 channels; grayscale: 1; auto: grayscale when every sampled image is single-channel",
        choices=("auto", "rgb", "grayscale"),
    )
    on_bad_file: str = opt(
        "skip", "unreadable image files: skip (one warning line) or error", choices=("skip", "error")
    )
    memory_budget_mb: int = opt(4096, "largest decoded set (float32) held in memory", gt=0)
    stream: Any = opt(
        "auto", "read and decode every batch from disk (auto: over memory_budget_mb)", choices=("auto", True, False)
    )


@option("data")
@dataclass
class CSVConfig(SplitDataConfig):
    """A CSV or Parquet table with a header row: typed feature columns and one or several target columns."""

    source: ClassVar[str] = "dltool.data.table_io:SOURCE"
    name: str = "csv"
    path: str | None = opt(None, "the CSV file (first row: column names), or a .parquet file")
    target: Any = opt(
        "target", "target column, or a list (all regressions: one multi-output regression; else a named output each)"
    )
    features: list[str] | None = opt(None, "feature columns (null: every column but the targets)")
    categorical: list[str] | None = opt(None, "columns one-hot encoded (null: the columns typed category)")
    columns: dict[str, str] | None = opt(
        None,
        "column types by name: number, binary, category, text, sequence or image (the others: inferred from cells)",
    )
    max_categories: int = opt(
        50, "a category column of more values: one-hot over its most frequent ones and <other>", gt=1
    )
    embed_categories: bool = opt(
        False,
        "a category column of more than max_categories values: an integer id, a model input of its own that "
        "model=mlp's combiner embeds (false: one-hot of its most frequent values and <other>)",
    )
    text_tokens: int = opt(5000, "vocabulary of each text column's TF-IDF vector (words and word pairs)", gt=2)
    sequence_length: int = opt(
        32, "values (or token ids) of each sequence column: longer cells cut, shorter padded with 0", gt=0
    )
    image_size: list[int] = opt([64, 64], "[height, width] the images of an image column are resized to")
    color_mode: str = opt(
        "rgb", "images of an image column: rgb (3 channels) or grayscale (1)", choices=("rgb", "grayscale")
    )
    task: str = opt("auto", "auto: regression for a numeric target, else classification", choices=("auto", *TASKS))
    missing: str = opt(
        "fill",
        "empty/NA cells: fill (numeric: training median, categorical: own category), drop (the row) or error",
        choices=("fill", "drop", "error"),
    )
    normalize: bool = opt(True, "standardize numeric features with the training split's mean and std")
    number_bins: int = opt(
        16, "number columns also encoded piecewise-linearly over this many quantile bins (0: not)", ge=0
    )
    delimiter: str = opt(",", "field separator")
    inputs: dict[str, Any] | None = opt(None, "named inputs (model=mlp or graph): {input: [columns]} (with targets)")
    targets: dict[str, str] | None = opt(None, "named outputs (model=mlp or graph): {output: column}, a head each")
    memory_budget_mb: int = opt(4096, "largest table held in memory (its cells as text and its float32 features)", gt=0)
    stream: Any = opt(
        "auto",
        "read the file in parts, features written to disk (auto: over memory_budget_mb)",
        choices=("auto", True, False),
    )


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


@option("data")
@dataclass
class TextFolderConfig(TextConfig, SplitDataConfig):
    """Text files in one sub-folder per class (or train/val/test sub-folders of them), e.g. aclImdb."""

    source: ClassVar[str] = "dltool.data.text:FOLDER_SOURCE"
    name: str = "text_folder"
    root: str | None = opt(None, "folder of the class sub-folders (or of train/, val/, test/)")


@option("data")
@dataclass
class IMDBConfig(TextConfig, DataConfig):
    """IMDB reviews as Keras' loader gives them (imdb.npz): token ids ranked by frequency."""

    source: ClassVar[str] = "dltool.data.text:IMDB_SOURCE"
    name: str = "imdb"
    root: str | None = opt(None, "folder holding imdb.npz (null: Keras' cache, ~/.keras/datasets)")


@option("data")
@dataclass
class ArraysConfig(SplitDataConfig):
    """Named NumPy arrays in one ``.npz`` file: one or several inputs and targets (``model=mlp``, ``model=graph``)."""

    source: ClassVar[str] = "dltool.data.arrays:SOURCE"
    name: str = "arrays"
    path: str | None = opt(None, "the .npz file (np.savez; pickled object arrays are refused)")
    inputs: Any = opt(None, "input arrays: a list of names, or {input name: array name} (null: x, or x_<input>)")
    targets: Any = opt(None, "target arrays: a list of names, or {output name: array name} (null: y, or y_<output>)")
    tasks: dict[str, str] = opt({}, "task of a target by output name (multiclass|binary|regression; unset: auto)")
