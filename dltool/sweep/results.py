"""What a sweep leaves: the live and final trials table, ``trials.csv``, ``best_config.yaml``, plots.

Everything is computed from the study in the storage, so any worker of a shared study writes the
whole picture. Files are written atomically (temporary file, then rename).

Example:
    >>> write_trials_csv(study, plan, plan.sweep_dir / "trials.csv")  # doctest: +SKIP
    >>> write_best_config(study, plan, plan.sweep_dir / "best_config.yaml").number  # doctest: +SKIP
    7
"""

from __future__ import annotations

import csv
import io
import logging
import math
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.table import Table

from dltool.rundir import write_bytes, write_text
from dltool.sweep.plan import SweepPlan
from dltool.sweep.space import format_value, rounded

log = logging.getLogger("dltool.sweep")
RESULT_COLUMNS = ("epochs_run", "best_epoch", "train_time_s", "params_total")


def trials(study: Any) -> list[Any]:
    """The study's trials, less those closed unrun because other workers had filled ``n_trials``."""
    return [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("surplus")]


def state_counts(study: Any) -> dict[str, int]:
    """How many of :func:`trials` are in each state (``complete``, ``pruned``, ``fail``, ``running``)."""
    return dict(Counter(t.state.name.lower() for t in trials(study)))


def best_trial(study: Any) -> Any | None:
    """The best completed trial; with several metrics, the one of the Pareto front best by the first."""
    from optuna.trial import TrialState

    if not any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        return None
    if len(study.directions) == 1:
        return study.best_trial
    best = max if study.directions[0].name == "MAXIMIZE" else min
    return best(study.best_trials, key=lambda t: t.values[0])


def trial_rows(study: Any, plan: SweepPlan) -> list[dict[str, Any]]:
    """One dict per trial: number, state, metric values, parameters, results, time, run directory
    (floats at 12 significant digits: 0.3, not 0.30000000000000004)."""
    rows = []
    for t in trials(study):
        row: dict[str, Any] = {"number": t.number, "state": t.state.name.lower()}
        values = t.values or ([t.intermediate_values[t.last_step]] if t.last_step is not None else [])
        for i, metric in enumerate(plan.metrics):
            row[metric] = rounded(values[i]) if i < len(values) else None
        row.update({key: rounded(t.params.get(key)) for key in plan.space})
        row.update({key: t.user_attrs.get(key) for key in RESULT_COLUMNS})
        row.update({k: v for k, v in sorted(t.user_attrs.items()) if k.startswith("test_")})
        row["pruned_at_epoch"] = t.user_attrs.get("pruned_at_epoch")
        row["duration_s"] = round(t.duration.total_seconds(), 1) if t.duration else None
        row["run_dir"] = t.user_attrs.get("run_dir")
        row["error"] = t.user_attrs.get("error")
        rows.append(row)
    return rows


def write_trials_csv(study: Any, plan: SweepPlan, path: Path) -> None:
    rows = trial_rows(study, plan)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def write_best_config(study: Any, plan: SweepPlan, path: Path) -> Any | None:
    """The best trial's complete, resolved config, which ``dltool train`` runs as is; the trial."""
    from omegaconf import OmegaConf

    from dltool.config import HydraArgs, builtin_config_dir, compose

    trial = best_trial(study)
    if trial is None:
        return None
    args = HydraArgs.parse(plan.hydra_flags)
    cfg = compose(trial.user_attrs["overrides"], args.config_name, args.config_dirs, args.config_path)
    shown = ", ".join(f"{m} {format_value(v)}" for m, v in zip(plan.metrics, trial.values, strict=True))
    header = (
        f"# The best trial (#{trial.number}: {shown}) of the sweep in {plan.sweep_dir}.\n"
        f"# A complete config; run it again with\n"
        f"#   dltool train --config-path {path.parent} --config-name {path.stem}\n"
        f"# Trial overrides: {' '.join(trial.user_attrs['overrides'])}\n\n"
    )
    # dltool's run-directory naming, inline (unresolved): the file needs no config directory beside it
    hydra = OmegaConf.create({"hydra": OmegaConf.load(builtin_config_dir() / "hydra" / "default.yaml")})
    write_text(path, header + OmegaConf.to_yaml(cfg, resolve=True) + OmegaConf.to_yaml(hydra))
    return trial


# ------------------------------------------------------------------------------ plots
def write_plots(study: Any, plan: SweepPlan) -> list[Path]:
    """History, parameter importances, parallel coordinates, slice and contour of the two most
    important parameters (and the Pareto front with several metrics); a plot that cannot be drawn
    yet is left out, with a line in sweep.log. Importances and contour need two completed trials:
    from fewer they would only show the same share for every parameter.
    """
    import optuna.visualization.matplotlib as ovm

    from dltool.plots import _pyplot

    _pyplot()  # the Agg backend
    multi = len(plan.metrics) > 1
    target = {"target": (lambda t: t.values[0]), "target_name": plan.metrics[0]} if multi else {}
    named = {"target_name": plan.metrics[0]} if not multi else {}
    top = _most_important(study, plan, target)
    plots = {
        "optimization_history.png": lambda: ovm.plot_optimization_history(study, **target, **named),
        "param_importances.png": lambda: ovm.plot_param_importances(study, **target, **named),
        "parallel_coordinate.png": lambda: ovm.plot_parallel_coordinate(study, **target, **named),
        "slice.png": lambda: ovm.plot_slice(study, params=top, **target, **named),
    }
    skipped = too_few_completed(study)
    if skipped:
        log.info("%s", skipped)
        del plots["param_importances.png"]
    elif len(top) == 2:
        plots["contour.png"] = lambda: ovm.plot_contour(study, params=top, **target, **named)
    if multi:
        plots["pareto_front.png"] = lambda: ovm.plot_pareto_front(study, target_names=plan.metrics)
    written = []
    for name, draw in plots.items():
        path = plan.sweep_dir / name
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna's "experimental" notices
                axes = draw()
            _save_figure(axes, path)
            written.append(path)
        except (ValueError, RuntimeError, ZeroDivisionError, IndexError) as err:
            log.info("%s not drawn: %s", name, err)
    return written


def too_few_completed(study: Any) -> str | None:
    """Why the parameter importances and contour plots are left out (fewer than 2 completed trials), or None."""
    from optuna.trial import TrialState

    done = sum(t.state == TrialState.COMPLETE for t in trials(study))
    if done >= 2:
        return None
    return (
        f"param_importances.png and contour.png not drawn: {done} completed trial{'s' * (done != 1)} "
        "(importances compare at least 2; pruned and failed trials have no final value)"
    )


def _most_important(study: Any, plan: SweepPlan, target: dict[str, Any]) -> list[str]:
    import optuna

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ranked = list(optuna.importance.get_param_importances(study, target=target.get("target")))
    except (ValueError, RuntimeError, ZeroDivisionError):
        ranked = []
    ranked += [k for k in plan.space if k not in ranked]
    return ranked[:2]


def _save_figure(axes: Any, path: Path) -> None:
    """The figure of Optuna's ``axes`` (one, or an array of them), written as ``path``."""
    import numpy as np

    from dltool.plots import _pyplot

    fig = np.atleast_1d(axes).flat[0].figure
    fig.set_size_inches(max(fig.get_figwidth(), 8), max(fig.get_figheight(), 5))
    image = io.BytesIO()
    fig.savefig(image, format=path.suffix.lstrip(".") or "png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    write_bytes(path, image.getvalue())


# ------------------------------------------------------------------------------ table
def trials_table(study: Any, plan: SweepPlan, title: str = "sweep", best_first: bool = False) -> Table:
    """Trial, state, parameters, values, epochs and time of each trial: in trial order with the best value
    so far (the live table), or ``best_first``: completed trials by the first metric, then the others."""
    rows = trial_rows(study, plan)
    sign = 1 if plan.directions[0] == "maximize" else -1
    if best_first:
        done = [r for r in rows if r["state"] == "complete" and r[plan.metrics[0]] is not None]
        rows = sorted(done, key=lambda r: -sign * r[plan.metrics[0]]) + [r for r in rows if r not in done]
    so_far = [] if best_first else ["best so far"]
    best: float | None = None
    lines = []
    for row in rows:
        value = row[plan.metrics[0]]
        if row["state"] == "complete" and value is not None and (best is None or sign * value > sign * best):
            best = value
        lines.append(
            [
                str(row["number"]),
                row["state"],
                *[_cell(row[k]) for k in plan.space],
                *[_cell(row[m]) for m in plan.metrics],
                *[_cell(best) for _ in so_far],
                _cell(row["epochs_run"]),
                _cell(row["duration_s"]),
            ]
        )
    table = Table(title=title)
    headers = ("trial", "state", *plan.space, *plan.metrics, *so_far, "epochs", "time (s)")
    ends = [k.rsplit(".", 1)[-1] for k in plan.space]
    # a searched key by its last part (learning_rate), unless two keys end alike
    short = {k: end for k, end in zip(plan.space, ends, strict=True) if ends.count(end) == 1}
    for i, column in enumerate(headers):
        header = short.get(column, column)
        # headers and short words stay whole; a word longer than 12 cells (a list of units) folds
        words = [cell_len(w) for w in header.split()] + [
            min(cell_len(w), 12) for line in lines for w in line[i].split()
        ]
        table.add_column(header, overflow="fold", min_width=max(words))
    colors = {"complete": "green", "pruned": "yellow", "fail": "red", "running": "cyan"}
    for line in lines:
        line[1] = f"[{colors.get(line[1], 'white')}]{line[1]}"
        table.add_row(*line)
    return table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)
