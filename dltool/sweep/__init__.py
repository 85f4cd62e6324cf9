"""``dltool sweep``: hyperparameter search on Optuna, one full ``dltool train`` run per trial.

Modules: ``space`` (the search-space grammar), ``plan`` (command line -> checked plan),
``samplers``, ``study`` (pruners, storage, workers), ``runner`` (the trial processes),
``pruning`` (the trial-side reporter), ``results`` (table, trials.csv, best_config.yaml, plots).

Example:
    >>> run_sweep(["sweep=quick", "sweep.n_trials=6"])  # doctest: +SKIP
    0
"""

from __future__ import annotations

import logging
import math
import threading
import warnings
from typing import Any

from dltool.console import console

log = logging.getLogger("dltool.sweep")


def run_sweep(argv: list[str]) -> int:
    """Plan, run and report a sweep; return 0, or raise a DltoolError (exit 1 or 2)."""
    import optuna

    from dltool.sweep import results, samplers, study
    from dltool.sweep.plan import make_plan
    from dltool.sweep.runner import run_trials

    plan = make_plan(argv)  # every check (exit 2) happens here, before the study exists
    # dltool drives trials with ask/tell and its own heartbeats, on purpose: Optuna's notices don't apply
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    _log_to(plan.sweep_dir / "sweep.log")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = plan.settings
    grid = {k: p.grid for k, p in plan.space.items()} if settings.sampler == "grid" else None
    n_trials = settings.n_trials if grid is None else min(settings.n_trials, math.prod(map(len, grid.values())))

    storage = study.make_storage(plan.storage, settings.heartbeat_grace_s)
    the_study, created = study.open_study(
        storage,
        plan.study_name,
        plan.directions,
        lambda seed: samplers.make_sampler(settings.sampler, seed, grid, len(plan.space)),
        study.make_pruner(settings.pruner, plan.epochs),
        settings.seed,
    )
    revived = study.fail_dead_trials(the_study)
    finished = sum(t.state.name in study.FINISHED for t in the_study.get_trials(deepcopy=False))
    if finished >= n_trials:  # a worker that came late: the others did the work
        console.print(
            f"study {plan.study_name} ({study.shown_url(plan.storage)}) already holds {finished} finished trials "
            f"(sweep.n_trials={n_trials}): nothing to run",
            highlight=False,
        )
        return 0
    console.print(
        f"[bold]sweep[/] {plan.sweep_dir}  study [bold]{plan.study_name}[/] "
        f"({'new' if created else 'joined'}, {study.shown_url(plan.storage)})  "
        f"{samplers.sampler_label(settings.sampler)} sampler, "
        f"{settings.pruner} pruner, {n_trials} trials, {settings.n_jobs} at once"
        + (f"; trials {revived} were interrupted and run again" if revived else ""),
        highlight=False,
    )
    display = _Display(plan)
    try:
        with display.live:
            run_trials(plan, the_study, n_trials, display.update)
    finally:
        best = _write_results(the_study, plan, results)
    counts = sorted(results.state_counts(the_study).items())
    lines = [f"trials: {', '.join(f'{n} {s}' for s, n in counts)}"]
    if best is not None:
        shown = ", ".join(f"{m} {v:.4g}" for m, v in zip(plan.metrics, best.values, strict=True))
        lines += [
            f"best: trial {best.number} ({shown}) in {best.user_attrs.get('run_dir')}",
            f"re-run: dltool train --config-path {plan.sweep_dir} --config-name best_config",
        ]
    skipped = results.too_few_completed(the_study)
    console.print("\n".join([*lines, *([skipped] if skipped else [])]), highlight=False)
    return 0


def _write_results(the_study: Any, plan: Any, results: Any) -> Any:
    """trials.csv, best_config.yaml and the plots, whatever happened (a stopped sweep reports too); the best trial."""
    results.write_trials_csv(the_study, plan, plan.sweep_dir / "trials.csv")
    best = results.write_best_config(the_study, plan, plan.sweep_dir / "best_config.yaml")
    plots = results.write_plots(the_study, plan)
    console.print(results.trials_table(the_study, plan, title=f"sweep {plan.study_name}, best first", best_first=True))
    log.info("wrote trials.csv, best_config.yaml and %s", ", ".join(p.name for p in plots))
    return best


class _Display:
    """The live trials table on a terminal; one line per finished trial elsewhere (logs, CI)."""

    def __init__(self, plan: Any) -> None:
        from rich.live import Live

        self.plan = plan
        self.live = Live(console=console, auto_refresh=False, transient=True)
        self.reported: set[int] = set()
        self.lock = threading.Lock()  # trial threads report concurrently

    def update(self, the_study: Any) -> None:
        from dltool.sweep.results import trial_rows, trials_table
        from dltool.sweep.space import format_value

        if console.is_terminal:
            self.live.update(trials_table(the_study, self.plan, title="sweep (running)"), refresh=True)
            return
        with self.lock:
            for row in trial_rows(the_study, self.plan):
                if row["state"] != "running" and row["number"] not in self.reported:
                    self.reported.add(row["number"])
                    value = row[self.plan.metrics[0]]
                    params = " ".join(f"{k}={format_value(row[k])}" for k in self.plan.space)
                    console.print(
                        f"trial {row['number']} {row['state']}: {self.plan.metrics[0]} "
                        f"{'' if value is None else f'{value:.4g}'}  {params}",
                        highlight=False,
                    )


def _log_to(path: Any) -> None:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(levelname)s] %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
