"""Text classification data: ``data=text_folder`` and ``data=imdb``, as a TF-IDF bag or as token sequences.

``data.vectorize=tf_idf`` makes each text a float32 vector of the TF-IDF weights of the ``vocab_size`` most
frequent words and word pairs of the training split; ``int`` a sequence of ``sequence_length`` int32 tokens
(0: padding). Its default, ``auto``, follows the model (:meth:`~dltool.config.data.TextConfig.follow_model`).
``text_folder`` reads ``.txt`` files in one sub-folder per class (:mod:`dltool.data.folders`), a file that is
not UTF-8 with its undecodable bytes replaced (one decision line). ``imdb`` reads Keras' ``imdb.npz`` (found as
:mod:`dltool.data.archives` finds an archive), with Keras' conventions: 1 starts a review, 2 is a word ranked
``vocab_size`` or beyond, word ids start at 3, sequences cut and padded at the front; as a TF-IDF bag, a
review's word ids are its words.

Example:
    >>> folder_text_spec(TextFolderConfig(root="data/reviews", vectorize="int", sequence_length=100)).input_shape
    ... # doctest: +SKIP
    (100,)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dltool.config.data import DataConfig, SplitDataConfig, TextConfig
from dltool.config.fields import opt
from dltool.config.registry import option
from dltool.data import archives, safe_pickle
from dltool.data.base import Dataset, DataSpec, Source, index_dataset, make_dataset
from dltool.data.folders import class_names, scan, split_files
from dltool.data.images import folder_spec


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


TEXT_SUFFIXES = (".txt",)
IMDB_NAMES = ("negative", "positive")
START, OOV, INDEX_FROM = 1, 2, 3  # keras.datasets.imdb's defaults


def read_imdb(path: Path) -> archives.Arrays:
    """``imdb.npz``: ragged reviews of word ranks (object arrays, pickled: read as plain data only), 0/1 labels."""
    npz = safe_pickle.load_npz(path)
    return npz["x_train"], npz["y_train"], npz["x_test"], npz["y_test"], IMDB_NAMES


IMDB = archives.Archive(
    spec=DataSpec((0,), "binary", 1, IMDB_NAMES),  # the real shape is the config's
    downloads=("imdb.npz",),
    url=archives.KERAS_DATASETS_URL,
    candidates=("imdb.npz",),
    read=read_imdb,
    sha256="69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
)


def _token_spec(base: DataSpec, cfg: TextFolderConfig | IMDBConfig) -> DataSpec:
    if cfg.vectorize == "tf_idf":
        return DataSpec((cfg.vocab_size,), base.task, base.num_classes, base.class_names)
    return DataSpec((cfg.sequence_length,), base.task, base.num_classes, base.class_names, "int32", cfg.vocab_size)


def _vectorizer(cfg: TextFolderConfig | IMDBConfig, keras: Any, **text_options: Any) -> Any:
    """The TextVectorization of ``cfg.vectorize`` (``auto`` unresolved: token sequences)."""
    if cfg.vectorize == "tf_idf":
        text_options.update(output_mode="tf_idf", ngrams=2, pad_to_max_tokens=True)
    else:
        text_options.update(output_sequence_length=cfg.sequence_length)
    return keras.layers.TextVectorization(max_tokens=cfg.vocab_size, **text_options)


def _vectorize(vectorizer: Any, texts: dict[str, list[str]], data: Dataset, cfg: TextFolderConfig | IMDBConfig) -> None:
    """Adapt ``vectorizer`` on the training texts, set every split's ``x`` (batches of 1,024 texts: a TF-IDF
    bag of the whole split at once would need several copies of it in memory)."""
    vectorizer.adapt(texts["train"])
    width = data.spec.input_shape[0]
    dtype = np.float32 if cfg.vectorize == "tf_idf" else np.int32
    xs = {}
    for split, split_texts in texts.items():
        xs[split] = np.zeros((len(split_texts), width), dtype=dtype)
        for start in range(0, len(split_texts), 1024):
            batch = np.asarray(split_texts[start : start + 1024], dtype=object)
            xs[split][start : start + 1024] = np.asarray(vectorizer(batch))
    if cfg.vectorize == "tf_idf":
        _scale_bags(xs)
        data.decisions.append(
            f"vectorize={cfg.vectorize}: each text is a TF-IDF bag of its words and word pairs ({width} features, "
            "fitted on the training split); token sequences are for models with an embedding (rnn, conv1d, "
            "transformer)"
        )
    for split, x in xs.items():
        setattr(data, f"x_{split}", x)


def _scale_bags(bags: dict[str, np.ndarray]) -> None:
    """Give every bag the same length (as scikit-learn's TfidfVectorizer: a long text weighs no more than a short
    one), the square root of the training bags' mean count of words: a typical word's weight is then about 1,
    the scale Dense layers' initializers expect (unit rows, weights of ~0.1, train several times slower)."""
    words = np.count_nonzero(bags["train"], axis=1)
    length = np.sqrt(words.mean()) if len(words) else 1.0
    for x in bags.values():  # in place, row norms without a squared copy: a split's bags can be gigabytes
        x *= (length / np.maximum(np.sqrt(np.einsum("ij,ij->i", x, x)), 1e-12))[:, None]


def folder_text_spec(cfg: TextFolderConfig) -> DataSpec:
    """TF-IDF bags or token sequences (``data.vectorize``); classes from the sub-folder names."""
    return _token_spec(folder_spec(class_names(cfg.root), ()), cfg)


def check_folder(cfg: TextFolderConfig) -> None:
    """Before training: the root exists and holds class folders with ``.txt`` files."""
    scan(cfg.root, TEXT_SUFFIXES)


def load_folder(cfg: TextFolderConfig, seed: int) -> Dataset:
    """Split the file list, adapt the vectorizer on the training texts, vectorize every split."""
    import keras

    files, data = split_files(scan(cfg.root, TEXT_SUFFIXES), folder_text_spec(cfg), cfg, seed)
    not_utf8: list[str] = []
    texts = {
        split: [_read(files[i], not_utf8) for i in getattr(data, f"x_{split}")] for split in ("train", "val", "test")
    }
    if not_utf8:
        data.decisions.append(
            f"{len(not_utf8)} file{'s are' if len(not_utf8) > 1 else ' is'} not UTF-8 ({', '.join(not_utf8[:3])}"
            f"{', ...' if len(not_utf8) > 3 else ''}): read with the undecodable bytes replaced by U+FFFD"
        )
    _vectorize(_vectorizer(cfg, keras), texts, data, cfg)
    return data


def _read(path: Path, not_utf8: list[str]) -> str:
    """The text of a file; one with bytes that are no UTF-8 is read all the same (a stray byte must not stop a
    run), and its name added to ``not_utf8``."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        not_utf8.append(str(path))
        return raw.decode("utf-8", errors="replace")


def imdb_spec(cfg: IMDBConfig) -> DataSpec:
    """Binary (negative/positive) token sequences of ``sequence_length``."""
    return _token_spec(IMDB.spec, cfg)


def check_imdb(cfg: IMDBConfig) -> None:
    """With ``data.root`` set, imdb.npz must be there (no download is tried)."""
    if cfg.root is not None:
        archives.locate("imdb", cfg.root, IMDB)


def load_imdb(cfg: IMDBConfig, seed: int) -> Dataset:
    """Read imdb.npz, keep the ``vocab_size`` most frequent words, pad; validation from the training reviews."""
    import keras

    _, arrays = archives.read_archive("imdb", cfg.root, IMDB)
    if cfg.vectorize == "tf_idf":
        return _imdb_bags(arrays, cfg, seed, keras)
    x_train, x_test = (_tokens(x, cfg, keras) for x in (arrays[0], arrays[2]))
    return make_dataset(imdb_spec(cfg), cfg, seed, x_train, arrays[1], test=(x_test, arrays[3]))


def _imdb_bags(arrays: archives.Arrays, cfg: IMDBConfig, seed: int, keras: Any) -> Dataset:
    """TF-IDF bags of the reviews' word ids (written out as words), adapted on the training split."""
    reviews = [" ".join(map(str, review)) for review in (*arrays[0], *arrays[2])]
    data = index_dataset(imdb_spec(cfg), cfg, seed, np.asarray(arrays[1]), test=np.asarray(arrays[3]))
    texts = {split: [reviews[i] for i in getattr(data, f"x_{split}")] for split in ("train", "val", "test")}
    _vectorize(_vectorizer(cfg, keras, standardize=None, split="whitespace"), texts, data, cfg)
    return data


def _tokens(reviews: np.ndarray, cfg: IMDBConfig, keras: object) -> np.ndarray:
    shifted = [[START] + [w + INDEX_FROM if w + INDEX_FROM < cfg.vocab_size else OOV for w in r] for r in reviews]
    return keras.utils.pad_sequences(shifted, maxlen=cfg.sequence_length, dtype="int32")


FOLDER_SOURCE = Source(folder_text_spec, load_folder, check_folder)
IMDB_SOURCE = Source(imdb_spec, load_imdb, check_imdb)
