"""``data=image_folder``: your own images, one sub-folder per class (layouts in :mod:`dltool.data.folders`).

How the images reach training: the files of the examples kept (after the splits and
``max_samples``) are read, decoded and resized by a parallel ``tf.data`` map
(``num_parallel_calls=AUTOTUNE``) into a uint8 array, once, before the first epoch; training then
gathers batches from memory (``dltool.training.batches``), so no epoch waits on the disk or the
decoder. The decoded set must fit in ``data.memory_budget_mb`` (float32, as the model reads it); a
larger folder is refused with a one-line error that says which keys shrink it.

Unreadable or corrupt files are found during that pass, never mid-epoch: with
``data.on_bad_file=skip`` they are dropped and counted in one warning line naming the first few;
with ``error`` the run stops with that line (exit 2).

Two classes make a binary task (one sigmoid output), more a multiclass one. Images are
``image_size`` (height, width), ``color_mode`` rgb (3 channels) or grayscale (1), in [0, 1].

Example:
    >>> from dltool.config.schemas import ImageFolderConfig
    >>> data = load(ImageFolderConfig(root="data/cats_vs_dogs", image_size=[64, 64]), seed=0)  # doctest: +SKIP
    >>> data.spec.class_names, data.x_train.shape[1:]  # doctest: +SKIP
    (('cat', 'dog'), (64, 64, 3))
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dltool.data.base import Dataset, DataSpec, index_dataset
from dltool.data.folders import class_names, scan
from dltool.errors import ConfigError

if TYPE_CHECKING:
    from dltool.config.schemas import ImageFolderConfig

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
SHOWN_BAD_FILES = 5  # names in the warning line


def folder_spec(names: Sequence[str], input_shape: tuple[int, ...], **extra: object) -> DataSpec:
    """Two classes: binary (one output); more: multiclass."""
    task = "binary" if len(names) == 2 else "multiclass"
    return DataSpec(input_shape, task, 1 if task == "binary" else len(names), tuple(names), **extra)


def spec(cfg: ImageFolderConfig) -> DataSpec:
    """Shape from ``image_size`` and ``color_mode``; classes from the sub-folder names (no file is read)."""
    channels = 1 if cfg.color_mode == "grayscale" else 3
    return folder_spec(class_names(cfg.root), (*cfg.image_size, channels))


def check(cfg: ImageFolderConfig) -> None:
    """Before training: the root exists and holds at least two class folders with image files."""
    scan(cfg.root, IMAGE_SUFFIXES)


def load(cfg: ImageFolderConfig, seed: int) -> Dataset:
    """Split the file list, then decode only the files kept, in parallel, into memory."""
    layout = scan(cfg.root, IMAGE_SUFFIXES)
    data_spec = spec(cfg)
    files = [f for split in ("train", "val", "test") if split in layout.splits for f in layout.splits[split][0]]
    labels = {split: layout.splits[split][1] if split in layout.splits else None for split in ("val", "test")}
    data = index_dataset(data_spec, cfg, seed, layout.splits["train"][1], val=labels["val"], test=labels["test"])
    rows = [data.x_train, data.x_val, data.x_test]
    kept = np.concatenate(rows)
    needed_mb = len(kept) * int(np.prod(data_spec.input_shape)) * 4 / 2**20
    if needed_mb > cfg.memory_budget_mb:
        raise ConfigError(
            f"data.root={cfg.root}: {len(kept)} images of shape {data_spec.input_shape} take {needed_mb:.0f} MB "
            f"in memory, over data.memory_budget_mb={cfg.memory_budget_mb}; lower data.image_size or "
            "data.max_samples, or raise the budget"
        )
    images, ok = decode_images([files[i] for i in kept], cfg.image_size, data_spec.input_shape[-1])
    _report_bad([files[i] for i in kept[~ok]], cfg)
    start = 0
    for split, split_rows in zip(("train", "val", "test"), rows, strict=True):
        part = slice(start, start + len(split_rows))
        start += len(split_rows)
        keep = ok[part]
        setattr(data, f"x_{split}", images[part][keep].astype(np.float32) / np.float32(255.0))
        setattr(data, f"y_{split}", getattr(data, f"y_{split}")[keep])
    if len(data.x_train) == 0:
        raise ConfigError(f"data.root={cfg.root}: none of the training images could be read")
    return data


def decode_images(
    paths: Sequence[str | Path], image_size: Sequence[int], channels: int, batch: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Read, decode (JPEG, PNG, BMP, GIF: first frame) and resize ``paths`` in parallel.

    Returns a uint8 array ``(len(paths), height, width, channels)`` and a boolean mask of the
    files that decoded; the rows of the others are zeros. Images of another size are resized
    bilinearly with antialiasing (as Pillow's downscaling); those of the right size are kept as
    decoded. A first pass assumes every file decodes (``ignore_errors`` costs up to a third of
    the throughput); when one does not, a second pass skips and flags the bad ones.

    Example:
        >>> images, ok = decode_images(["a.png", "broken.jpg"], (32, 32), 3)  # doctest: +SKIP
        >>> images.shape, ok.tolist()  # doctest: +SKIP
        ((2, 32, 32, 3), [True, False])
    """
    import tensorflow as tf

    height, width = (int(s) for s in image_size)

    def resize(image: tf.Tensor) -> tf.Tensor:
        image = tf.image.resize(image, (height, width), antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)

    def decode(i: tf.Tensor, path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        same = tf.reduce_all(tf.shape(image)[:2] == (height, width))
        image = tf.cond(same, lambda: image, lambda: resize(image))
        return i, tf.ensure_shape(image, (height, width, channels))

    if not len(paths):
        return np.zeros((0, height, width, channels), dtype=np.uint8), np.zeros(0, dtype=bool)
    files = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), [str(p) for p in paths]))

    def decode_all(skip_bad: bool) -> tuple[np.ndarray, np.ndarray]:
        out = np.zeros((len(paths), height, width, channels), dtype=np.uint8)
        ok = np.zeros(len(paths), dtype=bool)
        images = files.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        if skip_bad:  # a file that fails to decode drops out: its index is missing from the output
            images = images.ignore_errors()
        for index, batch_images in images.batch(batch).prefetch(tf.data.AUTOTUNE).as_numpy_iterator():
            out[index] = batch_images
            ok[index] = True
        return out, ok

    try:
        return decode_all(skip_bad=False)
    except tf.errors.OpError:
        return decode_all(skip_bad=True)


def _report_bad(bad: list[Path], cfg: ImageFolderConfig) -> None:
    if not bad:
        return
    shown = ", ".join(str(p) for p in bad[:SHOWN_BAD_FILES]) + (" ..." if len(bad) > SHOWN_BAD_FILES else "")
    line = f"{len(bad)} unreadable image file{'s' if len(bad) > 1 else ''} in data.root={cfg.root}: {shown}"
    if cfg.on_bad_file == "error":
        raise ConfigError(f"{line} (data.on_bad_file=error; skip them with data.on_bad_file=skip)")
    from dltool.console import print_warning

    line += " (skipped: data.on_bad_file=skip)"
    log.warning("%s", line)
    print_warning(line)
