"""``dltool export``: a checkpoint as a SavedModel, a ``.keras`` file, TFLite or ONNX, checked after writing.

After writing, the export is loaded back and run on ``samples`` seeded random inputs (:func:`_samples`); the
largest absolute difference from the checkpoint's own predictions must stay within the format's tolerance times
the largest prediction (at least the tolerance itself: float32 rounds a price of 20,000 to steps of 0.002), else
the export counts as failed (exit 1). A model of named inputs and outputs (``model=graph``) is exported with a
dict signature: every format takes ``{input name: array}`` and gives ``{output name: array}``.

Example:
    >>> found = export_run("outputs/2026-11-23/10-00-00", ["format=savedmodel"])  # doctest: +SKIP
    >>> found["max_abs_diff"] < 1e-5  # doctest: +SKIP
    True
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from dltool.config.evaluation import ExportConfig
from dltool.config.validate import check_allowed_targets
from dltool.errors import ConfigError, JobFailed
from dltool.evaluation.loading import (
    Target,
    has_named_io,
    load_model,
    locate,
    parse_overrides,
    saved_config,
    settings,
)
from dltool.rundir import check_creatable

Predictor = Callable[[Any], Any]  # an array, or a dict of arrays keyed by input (output) name


class Exporter(NamedTuple):
    """One export format: the default file name, the writer, the loader back, the allowed difference."""

    filename: str
    write: Callable[[Any, Path], None]
    reload: Callable[[Path], Predictor]
    tolerance: float


def _write_savedmodel(model: Any, path: Path) -> None:
    model.export(str(path), format="tf_saved_model", verbose=False)


def _reload_savedmodel(path: Path) -> Predictor:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))  # kept referenced: it owns the variables ``serve`` reads
    return lambda x: tf.nest.map_structure(lambda t: t.numpy(), loaded.serve(tf.nest.map_structure(tf.constant, x)))


def _write_keras(model: Any, path: Path) -> None:
    model.save(path)


def _reload_keras(path: Path) -> Predictor:
    model = load_model(path)
    return lambda x: model.predict(x, verbose=0)


def _write_tflite(model: Any, path: Path) -> None:
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as saved:
        _write_savedmodel(model, Path(saved) / "model")
        path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(Path(saved) / "model")).convert())


def _reload_tflite(path: Path) -> Predictor:
    import tensorflow as tf

    def run(x: Any) -> Any:
        interpreter = tf.lite.Interpreter(model_path=str(path))
        if isinstance(x, dict):  # the signature's inputs and outputs are named as the model's
            return interpreter.get_signature_runner()(**x)
        if len(interpreter.get_output_details()) > 1:  # one input, named outputs
            runner = interpreter.get_signature_runner()
            return runner(**{next(iter(runner.get_input_details())): x})
        source = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(source, list(x.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(source, x)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    return run


def _write_onnx(model: Any, path: Path) -> None:
    try:
        import onnxruntime  # noqa: F401  checked here: the export is useless without a runtime to verify it
        import tf2onnx  # noqa: F401
    except ImportError:
        raise ConfigError("format=onnx needs tf2onnx and onnxruntime: pip install 'dltool[onnx]'") from None
    model.export(str(path), format="onnx", verbose=False)


def _reload_onnx(path: Path) -> Predictor:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path))
    inputs, outputs = session.get_inputs(), [o.name for o in session.get_outputs()]

    def run(x: Any) -> Any:
        if isinstance(x, dict):
            return dict(zip(outputs, session.run(None, {i.name: x[i.name] for i in inputs}), strict=True))
        found = session.run(None, {inputs[0].name: x})
        return dict(zip(outputs, found, strict=True)) if len(outputs) > 1 else found[0]  # named outputs: a dict

    return run


def _data_shapes(target: Target, model: Any) -> dict[str, tuple[int, ...]]:
    """The shapes of the named inputs in the run's data, which fix the model's variable-length axes."""
    if target.run_dir is None or not has_named_io(model):
        return {}
    from dltool.config import validate
    from dltool.data import data_spec

    try:
        spec = data_spec(validate(saved_config(target.run_dir)).data)
    except ConfigError:  # the data's files are gone: the export needs none of them
        return {}
    return {name: tuple(found.shape) for name, found in (spec.inputs or {}).items()}


def _samples(model: Any, samples: int, shapes: dict[str, tuple[int, ...]]) -> Any:
    """Seeded random inputs: floats in [0, 1], integer (token) inputs 0 or 1; a dict for named inputs.

    A variable-length axis (``None``) is as long as in the run's data (``shapes``), else 8 steps: the
    export traces any length, these check one.
    """
    rng = np.random.default_rng(0)

    def sample(name: str, tensor: Any) -> np.ndarray:
        dims = shapes.get(name, tensor.shape[1:])
        shape = (samples, *(8 if d is None else d for d in dims))
        if "int" in str(tensor.dtype):
            return rng.integers(0, 2, shape).astype(str(tensor.dtype))
        return rng.random(shape, dtype=np.float32)

    if not has_named_io(model):
        return rng.random((samples, *model.input_shape[1:]), dtype=np.float32)
    if isinstance(model.input, dict):
        return {name: sample(name, tensor) for name, tensor in model.input.items()}
    if len(model.inputs) == 1:  # one input of no name (the outputs are named): an array, as the model takes
        return sample(model.inputs[0].name, model.inputs[0])
    return {tensor.name: sample(tensor.name, tensor) for tensor in model.inputs}


def _difference(expected: Any, got: Any) -> float:
    """The largest absolute difference between two outputs, or between the outputs of the same names."""
    if isinstance(expected, dict):
        if not isinstance(got, dict) or sorted(got) != sorted(expected):
            return float("inf")  # the export lost the output names
        return max(_difference(expected[name], got[name]) for name in expected)
    return float(np.abs(np.asarray(got, dtype=np.float64) - np.asarray(expected, dtype=np.float64)).max())


def _largest(outputs: Any) -> float:
    """The largest absolute value of an output, or of all the outputs of a dict."""
    import keras

    return max(float(np.abs(np.asarray(array, dtype=np.float64)).max()) for array in keras.tree.flatten(outputs))


EXPORTERS: dict[str, Exporter] = {
    "savedmodel": Exporter("savedmodel", _write_savedmodel, _reload_savedmodel, 1e-5),
    "keras": Exporter("model.keras", _write_keras, _reload_keras, 1e-5),
    "tflite": Exporter("model.tflite", _write_tflite, _reload_tflite, 1e-5),
    "onnx": Exporter("model.onnx", _write_onnx, _reload_onnx, 1e-5),
}


def export_run(target_word: str, overrides: list[str], unsafe: bool = False) -> dict[str, Any]:
    """Write the target's checkpoint in the chosen format, check it, and return what was found."""
    setup: ExportConfig = settings("export", ExportConfig, parse_overrides(overrides))
    exporter = EXPORTERS[setup.format]
    target = locate(target_word)
    if setup.allowed_targets is not None and target.run_dir is not None:  # the config is not used, yet checked
        check_allowed_targets(saved_config(target.run_dir), setup.allowed_targets)
    out = Path(setup.out) if setup.out else target.home / "export" / exporter.filename
    if out.exists():
        raise ConfigError(f"{out}: already exists; choose another path with out=PATH")
    check_creatable(out, "out")
    model = load_model(target.checkpoint, unsafe)
    x = _samples(model, setup.samples, _data_shapes(target, model))
    expected = model.predict(x, verbose=0)  # also builds the traced call an export needs
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".partial-{out.name}")  # renamed once checked: no half-written export under ``out``
    try:
        exporter.write(model, partial)
        difference = _difference(expected, exporter.reload(partial)(x))
        allowed = exporter.tolerance * max(1.0, _largest(expected))
        if not difference <= allowed:
            raise JobFailed(
                f"format={setup.format}: the export's predictions differ from the checkpoint's by up to "
                f"{difference:.3g} (tolerance {allowed:.3g}: {exporter.tolerance:g} of the largest prediction, at "
                f"least {exporter.tolerance:g}) on {setup.samples} random inputs; nothing kept"
            )
    except BaseException:
        shutil.rmtree(partial) if partial.is_dir() else partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    return {"format": setup.format, "path": str(out), "samples": setup.samples, "max_abs_diff": difference}
