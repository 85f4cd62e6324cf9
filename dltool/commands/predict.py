"""``dltool predict``: a checkpoint's predictions for image files, CSV rows, ``.npy`` or ``.npz`` arrays, to CSV.

Inputs are converted to the training conventions: images are resized to the model's input size,
grey or RGB as the model expects, scaled to [0, 1]; a CSV row (a header row is skipped) or an
``.npy`` array holds one example's values in order (``(n, *shape)``, ``shape`` or ``(n, size)``).
For a ``data=csv`` run, CSV files hold named columns: its feature columns are encoded as in
training (the training CSV is read again for the statistics); other columns are ignored.

A model of named inputs and outputs (``model=graph``; from its run directory, whose data config gives
the shapes and class names) reads ``.npz`` files of named arrays (an input's array has the input's
name, or the name it had in a ``data=arrays`` run's file; ``(n, *shape)``) or CSV files with a
column per input value (``<input>`` for one value, else ``<input>_0``, ``<input>_1``... in row-major
order; for a ``data=csv`` run, the columns of its ``data.inputs``, encoded as in training).

Example:
    >>> rows, out = predict_files("outputs/2026-11-23/10-00-00", ["digits/"])  # doctest: +SKIP
    >>> out, rows[0]["prediction"]  # doctest: +SKIP
    (PosixPath('outputs/2026-11-23/10-00-00/predictions/2026-11-24_09-30-00.csv'), '7')
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from dltool.config import RunConfig
from dltool.data.images import IMAGE_SUFFIXES
from dltool.errors import ConfigError, did_you_mean
from dltool.evaluation.loading import (
    Target,
    check_names,
    has_named_io,
    io_names,
    load_model,
    locate,
    new_output_file,
    parse_overrides,
    run_config,
    split_arguments,
)
from dltool.rundir import check_creatable

SUFFIXES = (*IMAGE_SUFFIXES, ".csv", ".npy", ".npz")
PREDICTIONS = "predictions"  # the default CSVs' folder in the run directory


def read_inputs(paths: list[str], input_shape: tuple[int, ...]) -> tuple[list[str], np.ndarray]:
    """One name and one float32 example of ``input_shape`` per input found in ``paths``."""
    files = _expand(paths)
    images = _images([f for f in files if f.suffix.lower() in IMAGE_SUFFIXES], input_shape)
    found: list[tuple[str, np.ndarray]] = []
    for path in files:
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            found.append((str(path), images[path]))
        elif suffix == ".csv":
            found += _csv_rows(path, input_shape)
        else:
            found += _npy(path, input_shape)
    return [name for name, _ in found], np.stack([example for _, example in found]).astype("float32")


def _expand(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for word in paths:
        path = Path(word)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not inside:
                raise ConfigError(f"{word}: no input files inside (expected {', '.join(SUFFIXES)})")
            files += inside
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES:
                raise ConfigError(f"{word}: unsupported input (expected {', '.join(SUFFIXES)}, or a folder of them)")
            files.append(path)
        else:
            raise ConfigError(f"{word}: no such file or folder")
    return files


def _images(paths: list[Path], shape: tuple[int, ...]) -> dict[Path, np.ndarray]:
    """The images as training read them: the image folders' decoder and resize, scaled to [0, 1]."""
    if not paths:
        return {}
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise ConfigError(f"{paths[0]}: an image, but the model takes inputs of shape {shape}, not images")
    from dltool.data.images import decode_images, scaled

    decoded, ok = decode_images(paths, shape[:2], shape[-1])
    if not ok.all():
        raise ConfigError(f"{paths[int(np.argmin(ok))]}: not a readable image ({', '.join(IMAGE_SUFFIXES)})")
    return dict(zip(paths, scaled(decoded), strict=True))


def _csv_rows(path: Path, shape: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    size = math.prod(shape)
    found = []
    with open(path, newline="") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            try:
                values = [float(v) for v in row]
            except ValueError:
                if line == 1:
                    continue  # a header row
                raise ConfigError(f"{path}:{line}: not all values are numbers") from None
            if len(values) != size:
                raise ConfigError(f"{path}:{line}: {len(values)} values, the model takes {size} (shape {shape})")
            found.append((f"{path}:{line}", np.asarray(values).reshape(shape)))
    return found


def _npy(path: Path, shape: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    if path.suffix.lower() == ".npz":
        raise ConfigError(f"{path}: named arrays (.npz) are for a model of named inputs; give this one .npy arrays")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: not a readable .npy array ({err})") from None
    if array.shape == shape:
        array = array[None]
    elif array.ndim == 2 and array.shape[1] == math.prod(shape):
        array = array.reshape(-1, *shape)
    elif array.shape[1:] != shape:
        raise ConfigError(f"{path}: an array of shape {array.shape}; the model takes (n, {', '.join(map(str, shape))})")
    return [(f"{path}[{i}]", example) for i, example in enumerate(array)]


def _table_of_one_target(run: RunConfig | None) -> bool:
    """A ``data=csv`` run of one target: its model's named inputs (token columns) are the table's columns."""
    if run is None or run.data.name != "csv" or run.data.inputs is not None or run.data.targets is not None:
        return False
    from dltool.data import data_spec

    return data_spec(run.data).outputs is None  # several targets of different kinds: named outputs


def _csv_run_inputs(target: Target, run: RunConfig | None, inputs: list[str]) -> tuple[list[str], Any] | None:
    """For a ``data=csv`` run: CSV files with its feature columns, encoded as in training; else None."""
    if run is None or run.data.name != "csv":
        return None
    from dltool.data.table_stream import fitted_encoder

    files = _expand(inputs)
    if any(f.suffix.lower() != ".csv" for f in files):
        raise ConfigError(f"{target.run_dir} was trained on data=csv: give CSV files with its feature columns")
    encoder = fitted_encoder(run.data, run.data_seed)
    found = [encoder.read(f, run.data.delimiter) for f in files]
    parts = [x for _, x in found]
    if isinstance(parts[0], dict):  # the feature matrix and the token columns' ids, by input name
        return [n for names, _ in found for n in names], {k: np.concatenate([x[k] for x in parts]) for k in parts[0]}
    return [n for names, _ in found for n in names], np.concatenate(parts)


def output_kind(run: RunConfig | None, model: Any) -> tuple[str, list[str]]:
    """The task and class names: from the run's data config, else from the model's output layer."""
    from dltool.evaluation.reports import class_names

    if run is not None:
        from dltool.data import data_spec

        spec = data_spec(run.data)
        return spec.task, class_names(spec) if spec.task != "regression" else []
    units = int(model.output_shape[-1])
    if units > 1:
        return "multiclass", [str(i) for i in range(units)]
    activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", "linear")
    return ("binary", ["0", "1"]) if activation == "sigmoid" else ("regression", [])


def _safety_settings(inputs: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The input files, and the ``allowed_targets=[...]`` given among them (the one setting predict takes)."""
    files, overrides = split_arguments(inputs)
    pairs = parse_overrides(overrides)
    for (key, _), override in zip(pairs, overrides, strict=True):
        if key != "allowed_targets":
            raise ConfigError(f"{override}: no such input file (the one key=value predict takes is allowed_targets=)")
    return files, pairs


def predict_files(
    target_word: str, inputs: list[str], out: Path | None = None, overwrite: bool = False, unsafe: bool = False
) -> tuple[list[dict[str, Any]], Path]:
    """Predict every input with the target's checkpoint; write the CSV (``out``, by default a new one in
    ``predictions/``) and return its rows and path."""
    if out is not None and out.exists() and not overwrite:
        raise ConfigError(f"{out}: already exists; choose another --out, or pass --overwrite")
    inputs, safety = _safety_settings(inputs)
    target = locate(target_word)
    run = run_config(target, safety)[1] if target.run_dir is not None else None  # checked before anything loads
    _expand(inputs)  # a missing input is one line before the checkpoint (and Keras) is loaded
    check_creatable(out or target.home / PREDICTIONS, "--out")
    model = load_model(target.checkpoint, unsafe)
    if has_named_io(model) and not _table_of_one_target(run):
        rows = _named_predictions(target, run, model, inputs)
    else:
        rows = _predictions(target, run, model, inputs)
    if out is None:
        out = new_output_file(target.home / PREDICTIONS, ".csv")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows, out


def _predictions(target: Target, run: RunConfig | None, model: Any, inputs: list[str]) -> list[dict[str, Any]]:
    """Rows ``input``, ``prediction`` and, for classification, ``p_<class>`` of a model of one input and output."""
    from dltool.evaluation.metrics import class_probabilities, predict, predicted_labels

    task, names = output_kind(run, model)
    labels, x = _csv_run_inputs(target, run, inputs) or read_inputs(inputs, tuple(model.input_shape[1:]))
    outputs = predict(model, x)
    if task == "regression":
        return [{"input": label, "prediction": float(v[0])} for label, v in zip(labels, outputs, strict=True)]
    probabilities = class_probabilities(task, outputs)
    return [
        {"input": label, "prediction": names[index], **{f"p_{n}": float(v) for n, v in zip(names, p, strict=True)}}
        for label, index, p in zip(labels, predicted_labels(task, outputs), probabilities, strict=True)
    ]


def _named_predictions(target: Target, run: RunConfig | None, model: Any, inputs: list[str]) -> list[dict[str, Any]]:
    """Rows ``input`` and one column per output (class name or value) of a model of named inputs and outputs."""
    from dltool.data import data_spec
    from dltool.evaluation.metrics import predict, predicted_labels
    from dltool.evaluation.reports import class_names

    if run is None:
        raise ConfigError(
            f"{target.label}: a model of named inputs predicts from its run directory (its data config gives the "
            "inputs' shapes and the classes)"
        )
    spec = data_spec(run.data)
    check_names(model, spec, target.label)
    input_names, output_names = io_names(model)
    shapes = {name: spec.inputs[name].shape if spec.inputs else tuple(spec.input_shape) for name in input_names}
    labels, x = _named_inputs(run, _expand(inputs), shapes)
    feed = {name: x[name].astype(spec.inputs[name].dtype if spec.inputs else spec.input_dtype) for name in input_names}
    outputs = predict(model, feed if spec.inputs else feed[input_names[0]])  # one input: a model of no input names
    columns: dict[str, list[Any]] = {}
    for name in spec.outputs or output_names:  # the data's order (Keras sorts the names)
        out = spec.outputs[name] if spec.outputs else spec
        values = outputs[name] if isinstance(outputs, dict) else outputs
        if out.task != "regression":
            names = class_names(out)
            columns[name] = [names[i] for i in predicted_labels(out.task, values)]
        elif values.shape[1] == 1:
            columns[name] = [float(v) for v in values[:, 0]]
        else:
            columns.update({f"{name}_{j}": [float(v) for v in values[:, j]] for j in range(values.shape[1])})
    return [{"input": label, **{k: v[i] for k, v in columns.items()}} for i, label in enumerate(labels)]


def _named_inputs(
    run: RunConfig, files: list[Path], shapes: dict[str, tuple[Any, ...]]
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The examples of ``.npz`` and CSV files for the named inputs of ``shapes``, with a name per example."""
    from dltool.data.arrays import as_mapping, input_arrays

    arrays = {name: f"x_{name}" for name in shapes}  # the default names of a data=arrays file
    if run.data.name == "arrays" and run.data.inputs is not None:
        arrays = as_mapping(run.data.inputs)
    labels: list[str] = []
    parts: dict[str, list[np.ndarray]] = {name: [] for name in shapes}
    for path in files:
        if run.data.name == "csv":  # the table's columns, encoded as in training
            from dltool.data.table_io import read_inputs

            if path.suffix.lower() != ".csv":
                raise ConfigError(f"{path}: the run was trained on data=csv: give CSV files with its input columns")
            names, found = read_inputs(run.data, run.data_seed, path)
            labels += names
        elif path.suffix.lower() == ".npz":
            found = input_arrays(path, arrays, shapes)
            labels += [f"{path}[{i}]" for i in range(len(next(iter(found.values()))))]
        elif path.suffix.lower() == ".csv":
            names, found = _named_csv(path, shapes)
            labels += names
        else:
            raise ConfigError(f"{path}: a model of named inputs reads .npz files of named arrays or CSV files")
        for name in shapes:
            parts[name].append(found[name])
    return labels, {name: np.concatenate(part) for name, part in parts.items()}


def _named_csv(path: Path, shapes: dict[str, tuple[Any, ...]]) -> tuple[list[str], dict[str, np.ndarray]]:
    """A CSV's columns ``<input>`` (one value) or ``<input>_0``, ``<input>_1``... as the named inputs' examples."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        rows = [row for row in reader if row]
    found = {}
    for name, shape in shapes.items():
        if None in shape:
            raise ConfigError(f"{path}: the input {name!r} takes any length (shape {shape}); give an .npz file")
        size = math.prod(shape)
        columns = [name] if size == 1 else [f"{name}_{i}" for i in range(size)]
        absent = [c for c in columns if c not in header]
        if absent:
            raise ConfigError(
                f"{path}: no column {absent[0]!r} for the input {name!r}{did_you_mean(absent[0], header)}; "
                f"an input of shape {shape} takes the columns {columns[0]}{f' to {columns[-1]}' if size > 1 else ''}"
            )
        index = [header.index(c) for c in columns]
        values = np.empty((len(rows), size))
        for line, row in enumerate(rows, start=2):
            try:
                values[line - 2] = [float(row[i]) for i in index]
            except (ValueError, IndexError):
                raise ConfigError(f"{path}:{line}: the columns of input {name!r} must hold numbers") from None
        found[name] = values.reshape(len(rows), *shape)
    return [f"{path}:{line}" for line in range(2, len(rows) + 2)], found


def print_predictions(rows: list[dict[str, Any]], out: Path, show: int) -> None:
    """The first ``show`` predictions as a rich table, and where the CSV is."""
    from rich.table import Table

    from dltool.console import console

    table = Table(title=f"{len(rows)} predictions" + (f" (first {show})" if len(rows) > show else ""))
    if "prediction" not in rows[0]:  # a model of named outputs: a column each
        for column in rows[0]:
            table.add_column(column, justify="left" if column == "input" else "right")
        for row in rows[:show]:
            table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row.values()))
    else:
        table.add_column("input")
        table.add_column("prediction", justify="right")
        with_probabilities = any(k.startswith("p_") for k in rows[0])
        if with_probabilities:
            table.add_column("probability", justify="right")
        for row in rows[:show]:
            shown = row["prediction"] if with_probabilities else f"{row['prediction']:.4g}"
            extra = [f"{row['p_' + row['prediction']]:.3f}"] if with_probabilities else []
            table.add_row(row["input"], shown, *extra)
    console.print(table)
    console.print(f"written: {out}", highlight=False, soft_wrap=True)  # a path to copy: never cut in two
