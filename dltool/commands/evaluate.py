"""``dltool evaluate``: score one checkpoint, or a weighted ensemble of several, on a split.

The split is rebuilt from the (first) run's config exactly as training built it, so the test
metrics of a run's best checkpoint equal its ``results.json``. Everything is written into a new
``eval/<YYYY-MM-DD_HH-MM-SS>[_ensemble]/`` directory of the (first) run: ``metrics.json`` and the
reports of :mod:`dltool.evaluation.reports`; no other file of the run is touched. A model of named
outputs (``model=graph`` on ``qa``, ``posts``, ``data=arrays``...) is scored per output: Keras'
``<split>_<output>_<metric>``, ``scores`` as ``<output>_<score>``, each output's reports in ``<output>/``.

Example:
    >>> found = evaluate(["outputs/2026-11-23/10-00-00"])  # doctest: +SKIP
    >>> found["test_accuracy"] == json.load(open(".../results.json"))["test_accuracy"]  # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from dltool.config import RunConfig
from dltool.config.evaluation import EvaluateConfig
from dltool.data.base import DataSpec, num_examples
from dltool.errors import ConfigError
from dltool.evaluation.loading import (
    Target,
    check_names,
    locate,
    new_output_dir,
    parse_overrides,
    run_config,
    settings,
    split_arguments,
)

_OWN_KEYS = {f.name for f in dataclasses.fields(EvaluateConfig)}


def evaluate(arguments: list[str], unsafe: bool = False) -> dict[str, Any]:
    """Evaluate the targets among ``arguments`` with the overrides among them; return metrics.json's content."""
    words, overrides = split_arguments(arguments)
    if not words:
        raise ConfigError(
            "name a run directory or a .keras file to evaluate, e.g. dltool evaluate outputs/<date>/<time>"
        )
    pairs = [("split", v) if k == "data.split" else (k, v) for k, v in parse_overrides(overrides)]
    own = [(k, v) for k, v in pairs if k.split(".")[0] in _OWN_KEYS]
    run_pairs = [(k, v) for k, v in pairs if k.split(".")[0] not in _OWN_KEYS]
    setup: EvaluateConfig = settings("evaluate", EvaluateConfig, own)
    targets = [locate(word) for word in words]
    runs = [run_config(target, run_pairs)[1] for target in targets]

    from dltool.training.devices import select_backend

    select_backend(runs[0].trainer)  # the backend the (first) run trained on, for the same numerics
    from dltool.data import data_spec, load_dataset
    from dltool.evaluation.ensemble import check_members, combine, explicit_weights, fit_weights

    specs = [data_spec(run.data) for run in runs]
    if len(targets) > 1 and any(spec.outputs is not None for spec in specs):
        raise ConfigError(
            f"data={runs[0].data.name}: an ensemble averages one output per model, these have named outputs; "
            "evaluate them one at a time"
        )
    check_members([t.label for t in targets], specs)
    weights = explicit_weights(setup.ensemble.weights, len(targets))
    _warn_if_splits_differ(targets, runs)

    from dltool.console import console
    from dltool.evaluation.loading import load_model
    from dltool.evaluation.metrics import fit_loss, predict
    from dltool.rundir import write_json

    reference, spec = runs[0], specs[0]
    data = load_dataset(reference.data, reference.trainer.seed)
    x, y = getattr(data, f"x_{setup.split}"), getattr(data, f"y_{setup.split}")
    if num_examples(x) == 0:
        raise ConfigError(f"data.split={setup.split}: that split is empty here (data.validation_split=0?)")
    models = [load_model(target.checkpoint, unsafe) for target in targets]
    for target, model in zip(targets, models, strict=True):
        _check_inputs(model, spec, target.label, reference.data.name)

    members = [
        _member(target, run, model, spec, x, y, setup.split, compare=not run_pairs)
        for target, run, model in zip(targets, runs, models, strict=True)
    ]
    found: dict[str, Any] = {
        "split": setup.split,
        "examples": num_examples(x),
        "task": spec.task,
        "data": dataclasses.asdict(reference.data),
    }
    if len(targets) == 1:
        found.update({k: v for k, v in members[0].items() if k != "outputs"})
        outputs = members[0]["outputs"]
    else:
        if weights is None:
            if len(data.x_val) == 0:
                raise ConfigError("ensemble.weights=auto: fits on the validation split, which is empty here")
            val_outputs = [predict(model, data.x_val) for model in models]
            weights = fit_weights(lambda o: fit_loss(spec.task, data.y_val, o), val_outputs)
        from dltool.evaluation.metrics import prediction_scores

        outputs = combine([m["outputs"] for m in members], weights)
        found["members"] = [{k: v for k, v in m.items() if k != "outputs"} for m in members]
        found["ensemble"] = {
            "weights": [round(float(w), 6) for w in weights],
            "weights_from": str(setup.ensemble.weights),
            "scores": prediction_scores(spec.task, y, outputs),
        }
    out_dir = new_output_dir(targets[0].home / "eval", "_ensemble" if len(targets) > 1 else "")
    found["files"] = ["metrics.json", *_reports(out_dir, spec, x, y, outputs, setup)]
    found["out_dir"] = str(out_dir)
    write_json(out_dir / "metrics.json", found)
    _print(found, console)
    return found


def _check_inputs(model: Any, spec: DataSpec, label: str, data_name: str) -> None:
    """The model takes the data's examples: its named inputs and outputs, or the shape of one input."""
    if spec.inputs is not None or spec.outputs is not None:
        check_names(model, spec, label)
    elif tuple(model.input_shape[1:]) != tuple(spec.input_shape):
        raise ConfigError(
            f"data={data_name}: examples of shape {tuple(spec.input_shape)}, but {label} "
            f"expects {tuple(model.input_shape[1:])}"
        )


def _member(
    target: Target, run: RunConfig, model: Any, spec: Any, x: np.ndarray, y: np.ndarray, split: str, compare: bool
) -> dict[str, Any]:
    """One checkpoint's Keras metrics (``<split>_<metric>``), prediction scores and outputs."""
    from dltool.evaluation.metrics import keras_scores, predict

    outputs = predict(model, x)
    member: dict[str, Any] = {
        "run": target.label,
        "checkpoint": str(target.checkpoint),
        **{f"{split}_{k}": v for k, v in keras_scores(model, run, spec, x, y).items()},
        "scores": _scores(spec, y, outputs),
        "outputs": outputs,
    }
    results = target.results() if compare and split == "test" and target.checkpoint.name == "best.keras" else None
    if results:
        member["results_json"] = {k: v for k, v in results.items() if k.startswith("test_") and k in member}
    return member


def _scores(spec: Any, y: Any, outputs: Any) -> dict[str, float]:
    """The prediction scores of the task, or ``<output>_<score>`` of each named output."""
    from dltool.evaluation.metrics import prediction_scores

    if spec.outputs is None:
        return prediction_scores(spec.task, y, outputs)
    return {
        f"{name}_{key}": value
        for name, out in spec.outputs.items()
        for key, value in prediction_scores(out.task, y[name], outputs[name]).items()
    }


def _reports(out_dir: Path, spec: Any, x: Any, y: Any, outputs: Any, setup: EvaluateConfig) -> list[str]:
    """The task's report files; each named output's in its own ``<output>/`` folder."""
    from dltool.evaluation.reports import write_reports

    if spec.outputs is None:
        return write_reports(out_dir, spec, x, y, outputs, setup.split, setup.worst)
    written = []
    for name, out in spec.outputs.items():
        (out_dir / name).mkdir()
        output_spec = DataSpec((), out.task, out.num_classes, out.class_names)  # no image input: no worst examples
        files = write_reports(out_dir / name, output_spec, x, y[name], outputs[name], setup.split, 0)
        written += [f"{name}/{file}" for file in files]
    return written


def _warn_if_splits_differ(targets: list[Target], runs: list[RunConfig]) -> None:
    def split_of(run: RunConfig) -> dict[str, Any]:
        data = dataclasses.asdict(run.data)
        return {**data, "seed": run.data_seed}

    first = split_of(runs[0])
    for target, run in zip(targets[1:], runs[1:], strict=True):
        mine = split_of(run)
        if mine != first:
            from dltool.console import console

            changed = ", ".join(f"data.{k}" for k in first if first[k] != mine.get(k))
            console.print(
                f"[yellow]warning:[/] {target.label} was trained on other splits ({changed} differ): the evaluation "
                f"uses {targets[0].label}'s, which may hold examples {target.label} trained on",
                highlight=False,
            )


def _print(found: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    if "members" not in found:
        table = Table(title=f"{found['run']}: {found['split']} split, {found['examples']} examples")
        saved = found.get("results_json", {})
        table.add_column("metric")
        table.add_column("value", justify="right")
        if saved:
            table.add_column("results.json", justify="right")
        keras_keys = [k for k in found if k.startswith(f"{found['split']}_")]
        for key in keras_keys + list(found["scores"]):
            value = found.get(key, found["scores"].get(key))
            table.add_row(key, f"{value:.4f}", *([f"{saved[key]:.4f}" if key in saved else ""] if saved else []))
    else:
        scores = list(found["ensemble"]["scores"])
        table = Table(
            title=f"ensemble of {len(found['members'])}: {found['split']} split, {found['examples']} examples"
        )
        for column in ("member", "weight", *scores):
            table.add_column(column, justify="left" if column == "member" else "right")
        for member, weight in zip(found["members"], found["ensemble"]["weights"], strict=True):
            table.add_row(member["run"], f"{weight:.3f}", *(f"{member['scores'][s]:.4f}" for s in scores))
        table.add_row(
            f"[bold]ensemble ({found['ensemble']['weights_from']})",
            "1.000",
            *(f"[bold]{found['ensemble']['scores'][s]:.4f}" for s in scores),
        )
    console.print(table)
    console.print(f"written: {found['out_dir']}/ ({', '.join(found['files'])})", highlight=False, soft_wrap=True)
