"""``data=arrays``: the named NumPy arrays of one ``.npz`` file (``np.savez``) as inputs and targets.

``data.inputs`` and ``data.targets`` name the arrays (a list, or ``{name: array}``; null: ``x`` and ``y``,
else every ``x_<input>`` and ``y_<output>``). An array ``<name>_test`` (``<name>_val``) beside ``<name>`` is
its test (validation) split, given for every input and target or for none. A target's task comes from its
values unless ``data.tasks.<output>`` names it (:func:`_output`); integer inputs are token ids. The file is read
with ``allow_pickle=False``: an object array is refused. One input and one target give plain arrays (any
model); otherwise ``x`` and ``y`` are dicts keyed by input and output name (``model=mlp``, ``model=graph``).

Example:
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "data.npz")
    >>> rng = np.random.default_rng(0)
    >>> np.savez(path, x_a=rng.random((50, 3)), x_b=rng.integers(0, 9, (50, 4)), y_c=rng.integers(0, 3, 50))
    >>> data = load(ArraysConfig(path=path), seed=0)
    >>> sorted(data.x_train), data.spec.inputs["b"].vocab_size, data.spec.outputs["c"].task, data.size("test")
    (['a', 'b'], 9, 'multiclass', 10)
"""

from __future__ import annotations

import functools
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dltool.config.data import TASKS, SplitDataConfig
from dltool.config.fields import opt
from dltool.config.registry import option
from dltool.data.base import Dataset, DataSpec, InputSpec, OutputSpec, Source, make_dataset, named_spec
from dltool.errors import ConfigError, did_you_mean, first_line


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


SPLITS = ("val", "test")  # an array "<name>_<split>" beside "<name>" is that split of it


@dataclass(frozen=True)
class Layout:
    """What the config makes of a file: the input and target arrays by name, the targets' specs."""

    path: Path
    arrays: dict[str, np.ndarray]
    inputs: dict[str, str]  # input name -> array name
    targets: dict[str, str]  # output name -> array name
    outputs: dict[str, OutputSpec]
    given: tuple[str, ...]  # the splits the file holds ("val", "test")

    @property
    def plain(self) -> bool:
        """One input and one target: plain arrays, for any model."""
        return len(self.inputs) == 1 and len(self.targets) == 1


def spec(cfg: ArraysConfig) -> DataSpec:
    """Reads the file (once per version of it): the inputs' shapes and dtypes, the targets' tasks."""
    return _spec(layout(cfg))


def check(cfg: ArraysConfig) -> None:
    """Before training: the file is a readable .npz holding the configured arrays."""
    layout(cfg)


def load(cfg: ArraysConfig, seed: int) -> Dataset:
    """The arrays, their targets as class indices or values, split as the file or the config says."""
    found = layout(cfg)
    parts = {suffix: _part(found, suffix) for suffix in ("", *(f"_{s}" for s in found.given))}
    data = make_dataset(_spec(found), cfg, seed, *parts[""], test=parts.get("_test"), val=parts.get("_val"))
    data.decisions = [
        f"target {name!r} (array {found.targets[name]!r}): {_describe(out)} from its values (data.tasks.{name} sets it)"
        for name, out in found.outputs.items()
        if name not in cfg.tasks
    ]
    return data


def input_arrays(path: Path, names: Mapping[str, str], shapes: Mapping[str, tuple[Any, ...]]) -> dict[str, np.ndarray]:
    """The arrays of another .npz file for inputs ``names`` (input name -> array name; an array named after the
    input also serves), each ``(n, *shape)`` (``shape`` alone: one example), for ``dltool predict``."""
    arrays = read(path, "input")
    found = {}
    for name, array in names.items():
        key = array if array in arrays else name
        if key not in arrays:
            raise ConfigError(
                f"{path}: no array {array!r} for the input {name!r}{did_you_mean(array, arrays)}; "
                f"its arrays: {', '.join(arrays)}"
            )
        value = arrays[key]
        shape = tuple(shapes[name])
        if value.ndim == len(shape):
            value = value[None]
        fits = value.ndim == len(shape) + 1
        fits = fits and all(d is None or d == g for d, g in zip(shape, value.shape[1:], strict=True))
        if not fits:
            raise ConfigError(f"{path}: array {key!r} has shape {value.shape}; the input {name!r} takes (n, {shape})")
        found[name] = value
    if len({len(v) for v in found.values()}) > 1:
        raise ConfigError(f"{path}: the input arrays have different numbers of examples ({_counts(found)})")
    return found


def layout(cfg: ArraysConfig) -> Layout:
    """The file of ``data.path`` and what ``data.inputs``, ``data.targets`` and ``data.tasks`` make of it."""
    if cfg.path is None:
        raise ConfigError("data.path is not set: give the .npz file (data.path=<file.npz>)")
    path = Path(cfg.path).expanduser()
    arrays = read(path, "data.path")
    inputs = _names(cfg.inputs, arrays, "data.inputs", "x", path)
    targets = _names(cfg.targets, arrays, "data.targets", "y", path)
    for name in cfg.tasks:
        if name not in targets:
            raise ConfigError(
                f"data.tasks.{name}: no such target{did_you_mean(name, targets)}; targets: {', '.join(targets)}"
            )
    used = [*inputs.values(), *targets.values()]
    given = []
    for split in SPLITS:
        present = [a for a in used if f"{a}_{split}" in arrays]
        if present and len(present) < len(used):
            absent = next(a for a in used if a not in present)
            raise ConfigError(
                f"data.path={path}: {present[0]}_{split} is given but not {absent}_{split}: give a <array>_{split} "
                f"for every input and target, or none (then data.{'test' if split == 'test' else 'validation'}_split "
                "holds out a part)"
            )
        if present:
            given.append(split)
    for suffix in ("", *(f"_{s}" for s in given)):
        part = {a + suffix: arrays[a + suffix] for a in used}
        if len({len(v) for v in part.values()}) > 1:
            raise ConfigError(f"data.path={path}: arrays of different numbers of examples ({_counts(part)})")
    outputs = {
        name: _output(name, _all_parts(arrays, array, given), cfg.tasks.get(name)) for name, array in targets.items()
    }
    for name, array in inputs.items():
        if arrays[array].dtype.kind not in "biuf":
            raise ConfigError(
                f"data.inputs.{name}: array {array!r} holds {arrays[array].dtype}; inputs must be numbers "
                "(integers: token ids)"
            )
    return Layout(path, arrays, inputs, targets, outputs, tuple(given))


def read(path: Path, key: str) -> dict[str, np.ndarray]:
    """The named arrays of an .npz file (cached while the file is unchanged), or a one-line ConfigError."""
    if not path.is_file():
        raise ConfigError(f"{key}={path}: no such file")
    return _read(path.resolve(), path.stat().st_mtime)


@functools.lru_cache(maxsize=4)
def _read(path: Path, _mtime: float) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ConfigError(f"{path}: not a readable .npz file ({first_line(err)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ConfigError(f"{path}: a single array; save named arrays with np.savez(path, x=..., y=...)")
    arrays = {}
    with archive:
        for name in archive.files:
            try:
                arrays[name] = archive[name]
                arrays[name].flags.writeable = False  # cached: a split reorders a copy, never these rows
            except ValueError:  # object arrays need pickle, which could run code stored in the file
                raise ConfigError(
                    f"{path}: array {name!r} is pickled (an object array); only number and text arrays are "
                    "read (allow_pickle=False): save it with a plain dtype"
                ) from None
            except (OSError, EOFError, zipfile.BadZipFile) as err:
                raise ConfigError(f"{path}: array {name!r} cannot be read ({first_line(err)})") from None
    if not arrays:
        raise ConfigError(f"{path}: an .npz file with no arrays")
    return arrays


def _names(value: Any, arrays: dict[str, np.ndarray], key: str, prefix: str, path: Path) -> dict[str, str]:
    """``{name: array name}`` of ``data.inputs`` or ``data.targets`` (null: ``x``, else the ``x_<name>`` arrays)."""
    if value is None:
        if prefix in arrays:
            return {prefix: prefix}
        found = {a[len(prefix) + 1 :]: a for a in arrays if a.startswith(f"{prefix}_") and not _split_of(a, arrays)}
        if not found:
            raise ConfigError(
                f"{key}: {path} has no array {prefix!r} nor {prefix}_<name> arrays, so name them "
                f"({key}=[...]); its arrays: {', '.join(arrays)}"
            )
        return found
    mapping = as_mapping(value)
    if not mapping:
        raise ConfigError(f"{key}: empty; name at least one array of {path}")
    for name, array in mapping.items():
        if array not in arrays:
            where = key if name == array else f"{key}.{name}"
            raise ConfigError(
                f"{where}={array}: no array {array!r} in {path}{did_you_mean(array, arrays)}; "
                f"its arrays: {', '.join(arrays)}"
            )
    return mapping


def as_mapping(value: Any) -> dict[str, str]:
    """``{name: array name}`` of a ``data.inputs`` or ``data.targets`` value: a name, a list or a mapping."""
    if isinstance(value, str):
        return {value: value}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    return {str(v): str(v) for v in value}


def _split_of(name: str, arrays: dict[str, np.ndarray]) -> bool:
    """Whether array ``name`` is the val or test part of another array of the file."""
    return any(name.endswith(f"_{s}") and name[: -len(s) - 1] in arrays for s in SPLITS)


def _all_parts(arrays: dict[str, np.ndarray], array: str, given: list[str]) -> np.ndarray:
    return np.concatenate([arrays[array], *(arrays[f"{array}_{s}"] for s in given)])


def _output(name: str, values: np.ndarray, task: str | None) -> OutputSpec:
    """The target's task (``task``, else from its values), its number of outputs and class names."""
    key = f"data.tasks.{name}"
    if task is not None and task not in TASKS:
        raise ConfigError(f"{key}={task}: must be one of {', '.join(TASKS)}{did_you_mean(str(task), TASKS)}")
    kind = values.dtype.kind
    columns = int(np.prod(values.shape[1:]))
    if kind in "US":
        classes = tuple(str(v) for v in np.unique(values))
    elif kind in "biu" or (task not in (None, "regression") and kind == "f"):
        if kind == "f" and not np.all(np.mod(values, 1) == 0):
            raise ConfigError(f"{key}={task}: the target holds fractions; class targets are integers (or text)")
        if values.size and values.min() < 0:
            raise ConfigError(f"{key}: the target holds negative integers; classes are 0, 1, 2, ...")
        top = int(values.max()) if values.size else 0
        classes = tuple(str(i) for i in range(max(top + 1, 2)))
    else:
        classes = None
    if task is None:
        task = "regression" if classes is None else "binary" if len(classes) == 2 else "multiclass"
    if task == "regression":
        if kind in "US":
            raise ConfigError(f"{key}=regression: the target holds text; a regression target must be numbers")
        return OutputSpec("regression", columns)
    if columns != 1:
        raise ConfigError(f"{key}: a {task} target holds one class per example, not shape {values.shape[1:]}")
    if task == "binary" and len(classes) != 2:
        raise ConfigError(f"{key}=binary: the target holds {len(classes)} classes, not 2")
    return OutputSpec.of(task, classes)


def _input(values: np.ndarray) -> InputSpec:
    shape = values.shape[1:] or (1,)  # a 1-D array: one number per example
    if values.dtype.kind in "iu":
        return InputSpec(shape, "int32", int(values.max()) + 1 if values.size else 1)
    return InputSpec(shape)


def _spec(found: Layout) -> DataSpec:
    inputs = {name: _input(_all_parts(found.arrays, array, list(found.given))) for name, array in found.inputs.items()}
    first, target = next(iter(inputs.values())), next(iter(found.outputs.values()))
    if found.plain:
        return DataSpec(first.shape, target.task, target.num_classes, target.class_names, first.dtype, first.vocab_size)
    return named_spec(inputs, found.outputs)


def _part(found: Layout, suffix: str) -> tuple[Any, Any]:
    """``(x, y)`` of the arrays named with ``suffix`` (``""``, ``"_val"``, ``"_test"``); class names as indices."""
    x = {name: found.arrays[a + suffix] for name, a in found.inputs.items()}
    x = {name: v.reshape(len(v), 1) if v.ndim == 1 else v for name, v in x.items()}
    y = {}
    for name, array in found.targets.items():
        values, out = found.arrays[array + suffix], found.outputs[name]
        if values.dtype.kind in "US":
            values = np.searchsorted(np.asarray(out.class_names), values.astype(str))
        y[name] = values.reshape(len(values)) if out.task != "regression" else values.reshape(len(values), -1)
    if found.plain:
        return next(iter(x.values())), next(iter(y.values()))
    return x, y


def _describe(out: OutputSpec) -> str:
    if out.task == "regression":
        return f"regression ({out.num_classes} value{'s' if out.num_classes > 1 else ''})"
    return f"{out.task} over {len(out.class_names)} classes"


def _counts(arrays: dict[str, np.ndarray]) -> str:
    return ", ".join(f"{name}: {len(v)}" for name, v in arrays.items())


SOURCE = Source(spec, load, check)
