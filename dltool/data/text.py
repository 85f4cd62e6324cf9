"""Text classification data as integer token sequences: ``data=text_folder`` and ``data=imdb``.

Both give examples of shape ``(sequence_length,)``, dtype int32, tokens in ``0..vocab_size-1``
(0 is padding): the ``rnn`` and ``conv1d`` models put an ``Embedding`` in front of them.

- ``text_folder``: ``.txt`` files in one sub-folder per class (layouts in :mod:`dltool.data.folders`,
  e.g. aclImdb's ``train/pos``, ``train/neg``, ``test/...``). A ``keras.layers.TextVectorization``
  (lower-case, punctuation stripped, ``vocab_size`` most frequent words) is adapted on the
  training split only, then turns every split into padded token sequences.
- ``imdb``: Keras' ``imdb.npz`` (25,000 + 25,000 reviews, already tokenized by frequency rank),
  with Keras' conventions: 1 starts a review, 2 is an out-of-vocabulary word, word ids start at 3;
  words ranked ``vocab_size`` or beyond become 2. Sequences are cut and padded at the front.
  Found in ``data.root``, else in Keras' cache, else downloaded; offline, the error says where to put it.

Example:
    >>> from dltool.config.schemas import TextFolderConfig
    >>> spec(TextFolderConfig(root="data/reviews", sequence_length=100)).input_shape  # doctest: +SKIP
    (100,)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dltool.data import archives, safe_pickle
from dltool.data.base import Dataset, DataSpec, index_dataset, make_dataset
from dltool.data.folders import class_names, scan
from dltool.data.images import folder_spec
from dltool.errors import ConfigError

if TYPE_CHECKING:
    from dltool.config.schemas import IMDBConfig, TextFolderConfig

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
    return DataSpec((cfg.sequence_length,), base.task, base.num_classes, base.class_names, "int32", cfg.vocab_size)


def folder_text_spec(cfg: TextFolderConfig) -> DataSpec:
    """Token sequences of ``sequence_length``; classes from the sub-folder names."""
    return _token_spec(folder_spec(class_names(cfg.root), ()), cfg)


def check_folder(cfg: TextFolderConfig) -> None:
    """Before training: the root exists and holds class folders with ``.txt`` files."""
    scan(cfg.root, TEXT_SUFFIXES)


def load_folder(cfg: TextFolderConfig, seed: int) -> Dataset:
    """Split the file list, adapt the vectorizer on the training texts, vectorize every split."""
    import keras

    layout = scan(cfg.root, TEXT_SUFFIXES)
    files = [f for split in ("train", "val", "test") if split in layout.splits for f in layout.splits[split][0]]
    labels = {split: layout.splits[split][1] if split in layout.splits else None for split in ("val", "test")}
    data = index_dataset(
        folder_text_spec(cfg), cfg, seed, layout.splits["train"][1], val=labels["val"], test=labels["test"]
    )
    vectorizer = keras.layers.TextVectorization(max_tokens=cfg.vocab_size, output_sequence_length=cfg.sequence_length)
    not_utf8: list[str] = []
    texts = {
        split: [_read(files[i], not_utf8) for i in getattr(data, f"x_{split}")] for split in ("train", "val", "test")
    }
    if not_utf8:
        data.decisions.append(
            f"{len(not_utf8)} file{'s are' if len(not_utf8) > 1 else ' is'} not UTF-8 ({', '.join(not_utf8[:3])}"
            f"{', ...' if len(not_utf8) > 3 else ''}): read with the undecodable bytes replaced by U+FFFD"
        )
    vectorizer.adapt(texts["train"])
    for split, split_texts in texts.items():
        tokens = vectorizer(np.asarray(split_texts, dtype=object)) if split_texts else np.zeros((0, 0))
        setattr(data, f"x_{split}", np.asarray(tokens, dtype=np.int32).reshape(-1, cfg.sequence_length))
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

    path = archives.locate("imdb", cfg.root, IMDB)
    try:
        arrays = IMDB.read(path)
    except archives.READ_ERRORS as err:
        raise ConfigError(f"imdb: cannot read {path}: {' '.join(str(err).split())}") from None
    x_train, x_test = (_tokens(x, cfg, keras) for x in (arrays[0], arrays[2]))
    return make_dataset(imdb_spec(cfg), cfg, seed, x_train, arrays[1], test=(x_test, arrays[3]))


def _tokens(reviews: np.ndarray, cfg: IMDBConfig, keras: object) -> np.ndarray:
    shifted = [[START] + [w + INDEX_FROM if w + INDEX_FROM < cfg.vocab_size else OOV for w in r] for r in reviews]
    return keras.utils.pad_sequences(shifted, maxlen=cfg.sequence_length, dtype="int32")
