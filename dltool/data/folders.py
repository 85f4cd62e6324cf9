"""Class folders: one sub-folder per class (the layout of Cats-vs-Dogs, Caltech-256, aclImdb).

Two layouts are read, for images (:mod:`dltool.data.images`) and texts (:mod:`dltool.data.text`):

- ``root/<class>/<file>``: the validation and test splits are carved from it (``data.validation_split``,
  ``data.test_split``);
- ``root/train/<class>/<file>`` with ``root/test/`` and/or ``root/val/`` (or ``validation/``) beside it:
  those sub-folders are the splits; what is missing is carved from ``train/``.

Class names are the sorted sub-folder names of the training folder; a split's sub-folder that is
not one of them is an error. Hidden files and folders (``.DS_Store``, ``.ipynb_checkpoints``) are skipped.

Example:
    >>> layout = scan("data/cats_vs_dogs", (".jpg",), "data.root")  # doctest: +SKIP
    >>> layout.class_names, len(layout.splits["train"][0])  # doctest: +SKIP
    (('cat', 'dog'), 2000)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dltool.data.base import Dataset, DataSpec, index_dataset
from dltool.errors import ConfigError

SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "validation"), "test": ("test",)}


@dataclass
class Layout:
    """The class names, and per split found on disk (``train``, maybe ``val``, ``test``) its files and labels."""

    root: Path
    class_names: tuple[str, ...]
    splits: dict[str, tuple[list[Path], np.ndarray]] = field(default_factory=dict)


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _train_folder(root: Path) -> Path:
    """``root/train`` when the root is split into train/val/test sub-folders, else ``root``."""
    train = root / "train"
    return train if train.is_dir() else root


def class_names(root: str | Path | None, key: str = "data.root") -> tuple[str, ...]:
    """The sorted class sub-folders of ``root`` (or of ``root/train``); a one-line error when there are fewer than 2."""
    if root is None:
        raise ConfigError(f"{key} is not set: give the folder holding one sub-folder per class ({key}=<folder>)")
    if not Path(root).expanduser().is_dir():
        raise ConfigError(f"{key}={root}: no such folder")
    names = tuple(p.name for p in _visible_dirs(_train_folder(Path(root).expanduser())))
    if len(names) < 2:
        found = f"only {names[0]}/" if names else "none"
        raise ConfigError(
            f"{key}={root}: expected one sub-folder per class (at least 2), found {found}; "
            "layout: <root>/<class>/<files> or <root>/train/<class>/<files>"
        )
    return names


def scan(root: str | Path | None, suffixes: tuple[str, ...], key: str = "data.root") -> Layout:
    """Every file with one of ``suffixes`` (case-insensitive) of each split and class, in sorted order (at least
    one in the training folder, or a ConfigError)."""
    names = class_names(root, key)
    folder = Path(root).expanduser()
    layout = Layout(folder, names)
    index = {name: i for i, name in enumerate(names)}
    split_roots = {"train": _train_folder(folder)}
    if split_roots["train"] != folder:
        for split in ("val", "test"):
            found = [folder / n for n in SPLIT_FOLDERS[split] if (folder / n).is_dir()]
            if found:
                split_roots[split] = found[0]
    for split, split_root in split_roots.items():
        files: list[Path] = []
        labels: list[int] = []
        for class_dir in _visible_dirs(split_root):
            if class_dir.name not in index:
                raise ConfigError(
                    f"{key}={root}: {split_root.name}/{class_dir.name}/ is not a class of the training folder "
                    f"({', '.join(names)})"
                )
            inside = sorted(
                p
                for p in class_dir.rglob("*")
                if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")
            )
            files += inside
            labels += [index[class_dir.name]] * len(inside)
        layout.splits[split] = (files, np.asarray(labels, dtype=np.int64))
    if not layout.splits["train"][0]:
        raise ConfigError(
            f"{key}={root}: no {'/'.join(suffixes)} file in the class sub-folders of {split_roots['train']}"
        )
    return layout


def split_files(layout: Layout, spec: DataSpec, cfg: Any, seed: int) -> tuple[list[Path], Dataset]:
    """Every file of ``layout``, split after split, and the dataset of their row numbers (the splits of the
    layout, what is missing carved from ``train``: :func:`~dltool.data.base.index_dataset`)."""
    files = [f for split in ("train", "val", "test") if split in layout.splits for f in layout.splits[split][0]]
    val, test = (layout.splits.get(split, (None, None))[1] for split in ("val", "test"))
    return files, index_dataset(spec, cfg, seed, layout.splits["train"][1], val=val, test=test)
