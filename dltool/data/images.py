"""``data=image_folder``: your own images, one sub-folder per class (layouts in :mod:`dltool.data.folders`).

In memory (``data.stream=false``, or ``auto`` within ``data.memory_budget_mb``) the kept files are decoded once,
in parallel, before the first epoch: no epoch waits on the disk. Streamed, each split's ``x`` is an
:class:`ImageFiles` whose batches :func:`decode_file` decodes again. Either way a bad file is skipped or stops the
run (``data.on_bad_file``) before the first epoch, never mid-epoch. docs/data.md has the details.

Example:
    >>> data = load(ImageFolderConfig(root="data/cats_vs_dogs", image_size=[64, 64]), seed=0)  # doctest: +SKIP
    >>> data.spec.class_names, data.x_train.shape[1:]  # doctest: +SKIP
    (('cat', 'dog'), (64, 64, 3))
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dltool.config.data import SplitDataConfig
from dltool.config.fields import opt
from dltool.config.registry import option
from dltool.data.base import Dataset, DataSpec, Source
from dltool.data.folders import class_names, scan, split_files
from dltool.errors import ConfigError


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


log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
SHOWN_BAD_FILES = 5  # names in the warning line


def folder_spec(names: Sequence[str], input_shape: tuple[int, ...], **extra: object) -> DataSpec:
    """Two classes: binary (one output); more: multiclass."""
    task = "binary" if len(names) == 2 else "multiclass"
    return DataSpec(input_shape, task, 1 if task == "binary" else len(names), tuple(names), **extra)


def spec(cfg: ImageFolderConfig) -> DataSpec:
    """Shape from ``image_size`` and ``color_mode`` (auto: a few files' headers read); classes from sub-folders."""
    return folder_spec(class_names(cfg.root), (*cfg.image_size, color_channels(cfg)))


def color_channels(cfg: ImageFolderConfig) -> int:
    """3 for rgb, 1 for grayscale; for auto, 1 when every sampled image is single-channel."""
    if cfg.color_mode == "auto":
        return 1 if _single_channel_folder(str(Path(cfg.root).expanduser().resolve())) else 3
    return 1 if cfg.color_mode == "grayscale" else 3


@functools.lru_cache(maxsize=8)
def _single_channel_folder(root: str, per_class: int = 4) -> bool:
    """Whether the first ``per_class`` images of each class are all single-channel (Pillow reads the header
    alone). Pillow's one-channel modes: 1 (bits), L (grey), I and F (32-bit), I;16 (16-bit)."""
    from PIL import Image, UnidentifiedImageError

    layout = scan(root, IMAGE_SUFFIXES)
    files, labels = layout.splits["train"]
    sampled = [f for c in np.unique(labels) for f in np.asarray(files, dtype=object)[labels == c][:per_class]]
    modes = set()
    for path in sampled:
        try:
            with Image.open(path) as image:
                modes.add(image.mode)
        except (OSError, UnidentifiedImageError):  # a bad file is reported when decoded
            continue
    return bool(modes) and modes <= {"1", "L", "I", "F", "I;16"}


def check(cfg: ImageFolderConfig) -> None:
    """Before training: the root exists and holds at least two class folders with image files; with
    ``data.on_bad_file=error``, a file that is no image at all (by its first bytes) stops the run here, before
    TensorFlow is imported (a damaged image of a known format is found when the files are decoded)."""
    layout = scan(cfg.root, IMAGE_SUFFIXES)
    if cfg.on_bad_file == "error":
        _report_bad([str(f) for files, _ in layout.splits.values() for f in files if not _has_image_signature(f)], cfg)


# the first bytes of JPEG, PNG, GIF and BMP files (IMAGE_SUFFIXES)
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


def _has_image_signature(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head.startswith(_SIGNATURES)


def load(cfg: ImageFolderConfig, seed: int) -> Dataset:
    """Split the file list, then decode only the files kept, in parallel: into memory, or (streaming)
    once to find the unreadable ones, each split's ``x`` then being an :class:`ImageFiles`."""
    data_spec = spec(cfg)
    files, data = split_files(scan(cfg.root, IMAGE_SUFFIXES), data_spec, cfg, seed)
    rows = [data.x_train, data.x_val, data.x_test]
    kept = np.concatenate(rows)
    paths = np.asarray([str(files[i]) for i in kept], dtype=str)
    channels = data_spec.input_shape[-1]
    streamed = streams(cfg, len(kept), data_spec.input_shape)
    images, ok = decode_images(paths, cfg.image_size, channels, keep=not streamed)
    data.decisions += _report_bad(list(paths[~ok]), cfg)
    if cfg.color_mode == "auto" and channels == 1:
        data.decisions.append("color_mode=auto: every sampled image is single-channel, so they are read as grayscale")
    parts = np.split(np.arange(len(kept)), np.cumsum([len(r) for r in rows])[:-1])
    for split, part in zip(("train", "val", "test"), parts, strict=True):
        readable = part[ok[part]]
        x = ImageFiles(paths[readable], cfg.image_size, channels) if streamed else scaled(images[readable])
        setattr(data, f"x_{split}", x)
        setattr(data, f"y_{split}", getattr(data, f"y_{split}")[ok[part]])
    if len(data.x_train) == 0:
        raise ConfigError(f"data.root={cfg.root}: none of the training images could be read")
    return data


def streams(cfg: ImageFolderConfig, count: int, input_shape: Sequence[int]) -> bool:
    """Whether ``count`` images of ``input_shape`` are streamed from disk (``data.stream``, ``auto``: over
    ``data.memory_budget_mb`` as float32); ``stream=false`` over the budget is a one-line ConfigError."""
    needed_mb = count * int(np.prod(input_shape)) * 4 / 2**20
    over = needed_mb > cfg.memory_budget_mb
    size = f"{count} images of shape {tuple(input_shape)} take {needed_mb:.0f} MB decoded"
    if cfg.stream is False and over:
        raise ConfigError(
            f"data.root={cfg.root}: {size}, over data.memory_budget_mb={cfg.memory_budget_mb}; stream them from "
            "disk with data.stream=true (or auto), lower data.image_size or data.max_samples, or raise the budget"
        )
    stream = cfg.stream is True or (cfg.stream == "auto" and over)
    if stream:
        why = f", over data.memory_budget_mb={cfg.memory_budget_mb}" if cfg.stream == "auto" else ""
        log.info("data.stream=%s: %s%s; streaming them from disk", str(cfg.stream).lower(), size, why)
    return stream


def scaled(images: np.ndarray) -> np.ndarray:
    """uint8 images as the model reads them: float32 in [0, 1]."""
    return images.astype(np.float32) / np.float32(255.0)


def decode_file(path: Any, height: int, width: int, channels: int) -> Any:
    """The ``tf.data`` map of one file path (a string tensor) to its uint8 image ``(height, width, channels)``.

    JPEG, PNG, BMP, GIF (first frame); another size resized bilinearly with antialiasing (as Pillow's downscaling).
    The one decoder of image folders: in memory (:func:`decode_images`) and streamed (:class:`ImageFiles`).
    """
    import tensorflow as tf

    image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)

    def resize() -> tf.Tensor:
        resized = tf.image.resize(image, (height, width), antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)

    same = tf.reduce_all(tf.shape(image)[:2] == (height, width))
    return tf.ensure_shape(tf.cond(same, lambda: image, resize), (height, width, channels))


def decode_images(
    paths: Sequence[str | Path], image_size: Sequence[int], channels: int, batch: int = 256, keep: bool = True
) -> tuple[np.ndarray | None, np.ndarray]:
    """Read, decode and resize ``paths`` in parallel (:func:`decode_file`).

    Returns a uint8 array ``(len(paths), height, width, channels)`` (None without ``keep``: a check, no image
    kept) and a boolean mask of the files that decoded; the rows of the others are zeros. A first pass assumes
    every file decodes (``ignore_errors`` costs up to a third of the throughput); when one does not, a second
    pass skips and flags the bad ones.

    Example:
        >>> images, ok = decode_images(["a.png", "broken.jpg"], (32, 32), 3)  # doctest: +SKIP
        >>> images.shape, ok.tolist()  # doctest: +SKIP
        ((2, 32, 32, 3), [True, False])
    """
    import tensorflow as tf

    height, width = (int(s) for s in image_size)
    out = np.zeros((len(paths), height, width, channels), dtype=np.uint8) if keep else None
    if not len(paths):
        return out, np.zeros(0, dtype=bool)
    files = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), [str(p) for p in paths]))

    def decoded(i: tf.Tensor, path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = decode_file(path, height, width, channels)
        return i, image if out is not None else image[0, 0]  # a check keeps one pixel, yet every op runs

    def decode_all(skip_bad: bool) -> np.ndarray:
        ok = np.zeros(len(paths), dtype=bool)
        images = files.map(decoded, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        if skip_bad:  # a file that fails to decode drops out: its index is missing from the output
            images = images.ignore_errors()
        for index, batch_images in images.batch(batch).prefetch(tf.data.AUTOTUNE).as_numpy_iterator():
            if out is not None:
                out[index] = batch_images
            ok[index] = True
        return ok

    try:
        return out, decode_all(skip_bad=False)
    except tf.errors.OpError:
        return out, decode_all(skip_bad=True)


class ImageFiles:
    """Image files as a lazy float32 array ``(n, height, width, channels)`` in [0, 1]: a streamed split's ``x``.

    It has ``len``, ``shape``, ``ndim`` and ``dtype``; indexing it (an int, a slice, an array of
    row numbers) decodes those rows only, into a NumPy array (a few examples for a figure, one
    batch of a ``keras.utils.PyDataset``). :meth:`batches` is the ``tf.data`` pipeline that reads
    and decodes the files of each batch in parallel. There is no ``__array__``: nothing turns the
    whole split into an array behind the caller's back.

    Example:
        >>> files = ImageFiles(["cat/1.jpg", "dog/2.png"], (32, 32), 3)
        >>> files.shape, len(files), files.dtype.name
        ((2, 32, 32, 3), 2, 'float32')
        >>> files[:1].shape  # doctest: +SKIP
        (1, 32, 32, 3)
    """

    ndim = 4
    dtype = np.dtype("float32")

    def __init__(self, paths: Sequence[str | Path], image_size: Sequence[int], channels: int) -> None:
        self.paths = np.asarray([str(p) for p in paths], dtype=str)
        self.image_size = tuple(int(s) for s in image_size)
        self.channels = int(channels)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.paths), *self.image_size, self.channels)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: Any) -> np.ndarray:
        if isinstance(index, int | np.integer):
            return self[np.asarray([index])][0]
        images, ok = decode_images(self.paths[index], self.image_size, self.channels)
        if not ok.all():  # every file decoded when the dataset was loaded: one changed since
            bad = self.paths[index][~ok][0]
            raise ConfigError(f"{bad}: no longer a readable image (it decoded when the data was loaded)")
        return scaled(images)

    def __repr__(self) -> str:
        return f"ImageFiles({len(self)} files, image_size={self.image_size}, channels={self.channels})"

    def batches(self, batch_size: int, y: Any = None, rows: Any = None) -> Any:
        """A ``tf.data.Dataset`` of the decoded images (with their ``y`` rows, when given) in batches, in the order
        of ``rows`` (a ``tf.data.Dataset`` of row numbers, default ``0..n-1``). ``y`` may be this very object (an
        autoencoder's targets are its inputs). The caller adds ``prefetch``."""
        import tensorflow as tf

        paths = tf.constant(self.paths)
        height, width = self.image_size
        labels = None if y is None or y is self else tf.constant(y)

        def example(i: tf.Tensor) -> Any:
            image = decode_file(tf.gather(paths, i), height, width, self.channels)
            image = tf.cast(image, tf.float32) / 255.0
            if y is None:
                return image
            return image, image if labels is None else tf.gather(labels, i)

        rows = tf.data.Dataset.range(len(self)) if rows is None else rows
        return rows.map(example, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)


def _report_bad(bad: list[str], cfg: ImageFolderConfig) -> list[str]:
    """Nothing for no bad file; else the stop (``data.on_bad_file=error``) or the line saying they were skipped."""
    if not bad:
        return []
    shown = ", ".join(bad[:SHOWN_BAD_FILES]) + (" ..." if len(bad) > SHOWN_BAD_FILES else "")
    line = f"{len(bad)} unreadable image file{'s' if len(bad) > 1 else ''} in data.root={cfg.root}: {shown}"
    if cfg.on_bad_file == "error":
        raise ConfigError(f"{line} (data.on_bad_file=error; skip them with data.on_bad_file=skip)")
    return [f"{line} (skipped: data.on_bad_file=skip)"]


SOURCE = Source(spec, load, check)
