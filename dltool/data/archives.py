"""The classic image sets, read from their standard archives: mnist, fashion_mnist, cifar10, cifar100.

The archive is looked for in ``data.root`` when set, else in Keras' cache (``$KERAS_HOME/datasets`` or
``~/.keras/datasets``, under our names or those of ``keras.datasets``, extracted or not), else downloaded into
that cache (:func:`locate`). Each set has its own test split; images are channels-last, in [0, 1].

Example:
    >>> spec(ArchiveConfig(name="cifar10")).input_shape
    (32, 32, 3)
    >>> data = load(ArchiveConfig(name="mnist", root="/data/mnist"), seed=0)  # doctest: +SKIP
    >>> data.x_train.shape, data.x_test.shape  # doctest: +SKIP
    ((54000, 28, 28, 1), (10000, 28, 28, 1))
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import pickle
import socket
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from dltool.config.data import DataConfig
from dltool.config.fields import opt
from dltool.config.registry import option
from dltool.data import safe_pickle
from dltool.data.base import DIGIT_NAMES, Dataset, DataSpec, Source, make_dataset
from dltool.errors import ConfigError


@option("data", "mnist", "fashion_mnist", "cifar10", "cifar100")
@dataclass
class ArchiveConfig(DataConfig):
    """A classic dataset read from its standard archive (downloaded once, or placed by hand)."""

    source: ClassVar[str] = "dltool.data.archives:SOURCE"
    root: str | None = opt(None, "folder holding the archive (null: Keras' cache, ~/.keras/datasets)")


KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/"
DOWNLOAD_TIMEOUT_S = 30  # per socket operation: an unreachable host fails instead of hanging

FASHION_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR100_NAMES = tuple(
    """
    apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can
    castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin
    elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster
    man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck
    pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk
    skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger
    tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm
""".split()  # noqa: SIM905 (a hundred words read better as text)
)

FASHION_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)
CIFAR10_BATCHES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")

# what a truncated, corrupted or foreign file raises while being read
READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    tarfile.TarError,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
    zlib.error,
)

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...] | None]


@dataclass(frozen=True)
class Archive:
    """Where one dataset lives and how to read it.

    ``candidates`` are paths relative to a folder, tried in order: a file is the archive
    itself, a folder counts when it holds all of ``markers`` (the extracted archive).
    ``read(path)`` returns x_train, y_train, x_test, y_test (uint8 images, HWC) and the class
    names stored in the archive, if any.
    """

    spec: DataSpec
    downloads: tuple[str, ...]  # files to fetch from url + file into the cache's `cache_subdir`
    url: str
    candidates: tuple[str, ...]
    read: Callable[[Path], Arrays]
    markers: tuple[str, ...] = ()
    cache_subdir: str = "datasets"
    sha256: str | None = None  # of the single download (as in keras.datasets)
    extracted: str | None = None  # the folder the archive extracts to, for error messages

    @property
    def origin(self) -> str:
        """Where to get it by hand: the file's URL, or the folder's for several files."""
        return self.url + self.downloads[0] if len(self.downloads) == 1 else self.url


def spec(cfg: ArchiveConfig) -> DataSpec:
    """Shape, classes and class names, known without reading the archive."""
    return ARCHIVES[cfg.name].spec


def check(cfg: ArchiveConfig) -> None:
    """With ``data.root`` set, the archive must be there (no download is tried): checked before training."""
    if cfg.root is not None:
        locate(cfg.name, cfg.root)


def load(cfg: ArchiveConfig, seed: int) -> Dataset:
    """Find (or download) ``cfg.name``'s archive, read it and carve the validation split from train."""
    path, (x_train, y_train, x_test, y_test, names) = read_archive(cfg.name, cfg.root)
    data_spec = ARCHIVES[cfg.name].spec
    if names is not None and len(names) == data_spec.num_classes:
        data_spec = dataclasses.replace(data_spec, class_names=tuple(names))
    for x, y in ((x_train, y_train), (x_test, y_test)):
        _check(cfg.name, path, data_spec, x, y)
    return make_dataset(data_spec, cfg, seed, x_train, y_train, test=(x_test, y_test), scale=255.0)


def read_archive(name: str, root: str | None, archive: Archive | None = None) -> tuple[Path, Arrays]:
    """The archive's path (:func:`locate`) and its arrays, or a one-line ConfigError for a file that cannot be read."""
    path = locate(name, root, archive)
    try:
        return path, (archive or ARCHIVES[name]).read(path)
    except READ_ERRORS as err:
        raise ConfigError(f"{name}: cannot read {path}: {_one_line(err)}") from None


def _check(name: str, path: Path, spec: DataSpec, x: np.ndarray, y: np.ndarray) -> None:
    """A clear error rather than a confusing one later, for an archive holding something else."""
    labels_ok = len(y) == 0 or (y.min() >= 0 and y.max() < spec.num_classes)
    if x.shape[1:] != spec.input_shape or len(x) != len(y) or not labels_ok:
        raise ConfigError(
            f"{name}: {path} does not hold {name}: {len(x)} images of shape {x.shape[1:]}, "
            f"{len(y)} labels (expected shape {spec.input_shape}, labels 0..{spec.num_classes - 1})"
        )


def locate(name: str, root: str | None = None, archive: Archive | None = None) -> Path:
    """The archive (file or extracted folder) of ``name`` in ``root``, else in Keras' cache, else downloaded;
    ``archive`` describes a file not in :data:`ARCHIVES` (e.g. IMDB's ``imdb.npz``)."""
    archive = archive or ARCHIVES[name]
    if root is not None:
        folder = Path(root).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"data.root={root}: no such folder (it should hold {_wanted(archive, folder)})")
        found = _find(archive, folder)
        if found is None:
            raise ConfigError(
                f"{name}: {_wanted(archive, folder)} not found in {folder} (data.root); download from {archive.origin}"
            )
        return found
    folder = Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser() / "datasets"  # Keras' dataset cache
    found = _find(archive, folder)
    if found is None:
        _download(name, archive, folder)
        found = _find(archive, folder)
    if found is None:
        raise ConfigError(f"{name}: downloaded, yet {_wanted(archive, folder)} is not in {folder}")
    return found


def _find(archive: Archive, folder: Path) -> Path | None:
    for candidate in archive.candidates:
        path = folder / candidate
        if path.is_file() or (path.is_dir() and archive.markers and all((path / m).is_file() for m in archive.markers)):
            return path
    return None


def _wanted(archive: Archive, folder: Path) -> str:
    missing = [f for f in archive.downloads if not (folder / f).is_file()] or list(archive.downloads)
    extracted = f" (or its extracted {archive.extracted}/ folder)" if archive.extracted else ""
    return ", ".join(missing) + extracted


def _download(name: str, archive: Archive, cache: Path) -> None:
    """Fetch the archive's files into ``cache`` (Keras' layout) or raise a one-line ConfigError."""
    import keras

    home = cache.parent
    target_dir = home / archive.cache_subdir
    for file in archive.downloads:
        if (target_dir / file).is_file():
            continue
        url = archive.url + file
        files = ", ".join(archive.downloads) if len(archive.downloads) > 1 else file
        advice = f"place {files} (from {archive.origin}) in {target_dir}, or in any folder and set data.root=<folder>"
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(previous or DOWNLOAD_TIMEOUT_S)
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            keras.utils.get_file(
                fname=file, origin=url, cache_dir=str(home), cache_subdir=archive.cache_subdir, file_hash=archive.sha256
            )
        except Exception as err:
            (target_dir / file).unlink(missing_ok=True)  # a corrupted download must not be found next time
            reason = _one_line(err).rsplit(" -- ", 1)[-1]  # Keras: "URL fetch failure on <url>: <errno> -- <reason>"
            raise ConfigError(f"{name}: cannot download {url} ({reason}); {advice}") from None
        finally:
            socket.setdefaulttimeout(previous)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


# ---------------------------------------------------------------------------------------------- readers
def read_mnist(path: Path) -> Arrays:
    """``mnist.npz``: arrays x_train (60000, 28, 28), y_train, x_test, y_test."""
    with np.load(path, allow_pickle=False) as npz:
        return npz["x_train"][..., None], npz["y_train"], npz["x_test"][..., None], npz["y_test"], None


def read_fashion_mnist(folder: Path) -> Arrays:
    """The four gzipped IDX files (labels and images of train and t10k)."""
    y_train, x_train, y_test, x_test = (_read_idx(folder / f) for f in FASHION_FILES)
    return x_train[..., None], y_train, x_test[..., None], y_test, None


def _read_idx(path: Path) -> np.ndarray:
    """An IDX array of unsigned bytes: magic 0x00 0x00 0x08 ndim, ndim big-endian sizes, the data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path.name} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _cifar_reader(batches: Iterable[str], test: str, meta: str, label: bytes, names: bytes) -> Callable[[Path], Arrays]:
    batches = tuple(batches)

    def read(path: Path) -> Arrays:
        """A CIFAR archive (.tar.gz or extracted folder): pickled dicts of channel-first rows."""
        members = _members(path, {*batches, test, meta})
        missing = [m for m in (*batches, test) if m not in members]
        if missing:
            raise ValueError(f"no {', '.join(missing)} in it")
        train = [_cifar_batch(_unpickle(members, b), label) for b in batches]
        x_train, y_train = np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])
        x_test, y_test = _cifar_batch(_unpickle(members, test), label)
        class_names = None
        if meta in members:
            class_names = tuple(n.decode() for n in _unpickle(members, meta)[names])
        return x_train, y_train, x_test, y_test, class_names

    return read


def _members(path: Path, names: set[str]) -> dict[str, bytes]:
    """The bytes of the files called ``names`` in a folder, or in a tar archive (one pass, any folder)."""
    if path.is_dir():
        return {n: (path / n).read_bytes() for n in names if (path / n).is_file()}
    found: dict[str, bytes] = {}
    with tarfile.open(path) as tar:
        for member in tar:
            base = member.name.rsplit("/", 1)[-1]
            if member.isfile() and base in names and base not in found:
                found[base] = tar.extractfile(member).read()
    return found


def _unpickle(members: dict[str, bytes], name: str) -> dict[bytes, object]:
    """One pickled dict of the archive, as plain data only (a pickle naming code is refused, not run)."""
    try:
        found = safe_pickle.loads(members[name], encoding="bytes")  # Python 2 pickles: str keys -> bytes
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(f"{name}: {err}") from None
    if not isinstance(found, dict):
        raise ValueError(f"{name}: holds a {type(found).__name__}, not a dict")
    return found


def _cifar_batch(batch: dict[bytes, object], label: bytes) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, np.asarray(batch[label])


def _cifar(names: tuple[str, ...], folder: str, download: str, read: Callable, markers: tuple, sha256: str) -> Archive:
    """A CIFAR archive: the ``.tar.gz``, or the ``folder`` it extracts to (where ``keras.datasets`` leaves them too)."""
    candidates = (folder, f"{folder}-target/{folder}", ".", download, f"{folder}.tar.gz", f"{folder}-target_archive")
    return Archive(
        spec=DataSpec((32, 32, 3), "multiclass", len(names), names),
        downloads=(download,),
        url=CIFAR_URL,
        candidates=tuple(dict.fromkeys(candidates)),  # cifar100's folder.tar.gz is its download
        read=read,
        markers=markers,
        sha256=sha256,
        extracted=folder,
    )


ARCHIVES: dict[str, Archive] = {
    "mnist": Archive(
        spec=DataSpec((28, 28, 1), "multiclass", 10, DIGIT_NAMES),
        downloads=("mnist.npz",),
        url=KERAS_DATASETS_URL,
        candidates=("mnist.npz",),
        read=read_mnist,
        sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    ),
    "fashion_mnist": Archive(
        spec=DataSpec((28, 28, 1), "multiclass", 10, FASHION_NAMES),
        downloads=FASHION_FILES,
        url=KERAS_DATASETS_URL,
        candidates=(".", "fashion-mnist"),
        markers=FASHION_FILES,
        read=read_fashion_mnist,
        cache_subdir="datasets/fashion-mnist",
    ),
    "cifar10": _cifar(
        CIFAR10_NAMES,
        "cifar-10-batches-py",
        "cifar-10-python.tar.gz",
        _cifar_reader(CIFAR10_BATCHES[:-1], "test_batch", "batches.meta", b"labels", b"label_names"),
        CIFAR10_BATCHES,
        "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    ),
    "cifar100": _cifar(
        CIFAR100_NAMES,
        "cifar-100-python",
        "cifar-100-python.tar.gz",
        _cifar_reader(("train",), "test", "meta", b"fine_labels", b"fine_label_names"),
        ("train", "test"),
        "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    ),
}


SOURCE = Source(spec, load, check)
