"""The ``dltool`` command line: a thin Typer app that forwards each command's arguments to its code
(``dltool.commands``, ``dltool.sweep``, ``dltool.evaluation``) and turns errors into one line and an exit code.
Heavy imports (Keras, TensorFlow) happen inside the commands that need them.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from dltool import __version__
from dltool.errors import DltoolError, first_line

app = typer.Typer(
    name="dltool",
    help="Train Keras models from composable Hydra configs: [bold]dltool train model=resnet data=cifar10[/bold].",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": ["--help"]}

TRAIN_HELP = """Compose the config, train, and write one run directory under outputs/.

OVERRIDES are Hydra overrides: key=value, group choices (model=resnet), +key=, ~key, ++key=,
-m/--multirun with comma-separated values, --cfg job, --config-dir DIR, hydra.run.dir=...

[bold]Examples[/bold]

  dltool train                                  [dim]# MLP on scikit-learn's digits, offline[/dim]

  dltool train model=resnet data=cifar10 optimizer=sgd optimizer.learning_rate=0.1

  dltool train regularization=dropout trainer.epochs=50 name=dropout

  dltool train -m optimizer=sgd,adam,rmsprop    [dim]# one run per optimizer[/dim]

  dltool train --cfg job model=cnn              [dim]# print the composed config, run nothing[/dim]

  dltool train resume=latest                    [dim]# continue the newest run in its own directory[/dim]

  dltool train resume=outputs/2026-11-23/10-00-00 trainer.epochs=50   [dim]# extend a run[/dim]

Short keys stand for the well-known ones: epochs, batch_size (batch), lr (learning_rate), seed,
device (devices), precision, backend, patience, image_size (imgsz): epochs=10 is trainer.epochs=10.

Ctrl-C stops after the current step, saves, and prints the resume command (exit 130).
"""

SWEEP_HELP = """Search hyperparameters with Optuna: every trial is a full `dltool train` run in its own directory,
run by a worker process that imports TensorFlow once (sweep.isolation=process: a process per trial).

OVERRIDES: sweep=<preset> (conf/sweep/), sweep.* settings (sampler, pruner, metric, direction, n_trials,
timeout, n_jobs, gpus_per_trial, storage, study_name, resume, isolation), searched keys in Hydra's sweep grammar
(choice(a,b) or a,b; range(lo,hi,step=s); interval(lo,hi); tag(log,interval(lo,hi))), and fixed
overrides every trial gets. Writes outputs/sweeps/<date>/<time>/ (trials/, trials.csv, best_config.yaml,
plots); exit 130 on Ctrl-C, and sweep.resume=<that directory> continues.

[bold]Examples[/bold]

  dltool sweep                                  [dim]# learning rate, batch size, dropout on digits[/dim]

  dltool sweep sweep=layers sweep.n_trials=30 sweep.n_jobs=2

  dltool sweep 'optimizer.learning_rate=tag(log,interval(1e-4,1e-1))' model.hidden_units='[32],[64,64]'

  dltool sweep sweep.resume=outputs/sweeps/2026-11-23/10-00-00

  dltool sweep sweep.storage=postgresql://host/db sweep.study_name=shared   [dim]# on each machine[/dim]
"""

SHOW_HELP = """Print the resolved config tree and the model's layers and parameter counts.

Neither trains nor loads data: shapes come from the data config.

[bold]Examples[/bold]

  dltool show model=resnet model.depth=20 data=cifar10

  dltool show model=cnn data=mnist --json
"""

EVALUATE_HELP = """Score a run's best checkpoint on its test split; several runs make a weighted ensemble.

RUN is a run directory or a .keras file. Writes RUN/eval/<date_time>/ (metrics.json,
classification_report.txt, confusion_matrix.png and its _normalized companion, ROC/PR curves,
residuals.png, worst_examples.png) and never changes the run's own files. key=value overrides: split=test|val|train (or
data.split=...), data=<option> and data.* keys (another dataset), ensemble.weights=equal|auto|[w1,w2,...]
(auto: fitted on the validation split), worst=N, allowed_targets=\\[prefix,...] (the run's config may
name no other _target_: checked before anything is imported).

[bold]Examples[/bold]

  dltool evaluate outputs/2026-11-23/10-00-00

  dltool evaluate outputs/2026-11-23/10-00-00 data.split=val

  dltool evaluate run1 run2 run3 ensemble.weights=auto

  dltool evaluate model.keras data=digits       [dim]# a file outside a run: name its dataset[/dim]
"""

PREDICT_HELP = """Predict image files (or folders of them), CSV rows or .npy arrays with a run's best checkpoint.

Writes a CSV (input, prediction, p_<class>... or the value) and prints the first rows.
By default the CSV is a new RUN/predictions/<YYYY-MM-DD_HH-MM-SS>.csv (for a .keras file,
in predictions/ beside it); --out names the file instead, kept if it exists unless --overwrite.
Images are resized to the model's input and scaled to [0, 1], as in training.
allowed_targets=\\[prefix,...] among the inputs: the run's config may name no other _target_.

[bold]Examples[/bold]

  dltool predict outputs/2026-11-23/10-00-00 samples/    [dim]# RUN/predictions/<date_time>.csv[/dim]

  dltool predict outputs/2026-11-23/10-00-00 samples/ --out predictions.csv

  dltool predict outputs/2026-11-23/10-00-00 batch.npy rows.csv --show 20
"""

EXPORT_HELP = """Write a run's best checkpoint as format=savedmodel|keras|tflite|onnx, then check it.

The export is loaded back and compared with the checkpoint on random inputs; the largest
absolute difference is printed (exit 1 above 1e-5). Written to RUN/export/ unless out=PATH.
allowed_targets=\\[prefix,...]: refuse a run whose config names another _target_.
ONNX needs the extra: pip install 'dltool[onnx]'.

[bold]Examples[/bold]

  dltool export outputs/2026-11-23/10-00-00 format=savedmodel

  dltool export outputs/2026-11-23/10-00-00 format=tflite out=model.tflite
"""

RUNS_HELP = """Table of the runs under outputs/ (or --root), sortable and filterable.

Date, model, data, best validation and test metric, epochs, status; broken run directories
are listed as incomplete or corrupt.

[bold]Examples[/bold]

  dltool runs

  dltool runs --sort test_accuracy --desc --where model=resnet

  dltool runs --where status=completed --where trainer.epochs=30 --json

  dltool runs --root outputs/multirun -c model.activation -c params.total   [dim]# a comparison side by side[/dim]
"""


LIST_HELP = """The choices of each config group (or of GROUP), described by their files' comment headers or schemas.

The default choice is marked *. Options of your own config directories (--config-dir) are listed too.

[bold]Examples[/bold]

  dltool list

  dltool list model

  dltool list data --config-dir ./my_conf --json
"""


def _complete_overrides(ctx: typer.Context, args: list[str], incomplete: str) -> list[str]:
    """Shell completion of an override: ``group=choice`` and ``group.key=`` from the config tree."""
    from dltool.config.catalog import complete_override

    return complete_override(incomplete, [*(ctx.params.get("overrides") or []), *args])


# Hydra's command line, in order: overrides and Hydra's own flags (-m, --cfg job, --config-dir DIR)
Overrides = Annotated[
    list[str] | None,
    typer.Argument(
        help="Hydra overrides (key=value, group=choice) and Hydra flags.",
        autocompletion=_complete_overrides,
        show_default=False,
    ),
]


CHECKS_HELP = """Print what a bug report needs: versions, devices, Graphviz, optional extras, free disk.

Versions of Python, dltool, Keras, TensorFlow, JAX and PyTorch (from the installed packages), the
devices the backend sees (it is imported: a few seconds), the Graphviz renderer of model.png,
dltool's optional extras and the postgres driver, and the free disk where outputs/ is.

[bold]Examples[/bold]

  dltool checks                                 [dim]# paste the lines into a bug report[/dim]

  dltool checks --backend jax                   [dim]# the devices JAX sees[/dim]

  dltool checks --json                          [dim]# for scripts[/dim]
"""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dltool {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """dltool: one command per deep-learning technique, reproducible runs."""


@contextlib.contextmanager
def _user_errors(debug: bool) -> Iterator[None]:
    """Turn a DltoolError into one line on stderr and its exit code (a traceback with --debug).

    ``--debug`` is Hydra's ``HYDRA_FULL_ERROR=1`` for this command only: a process that runs several
    commands (a sweep's trial worker, the tests) keeps its environment.
    """
    saved = os.environ.get("HYDRA_FULL_ERROR")
    if debug:
        os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    except DltoolError as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        raise typer.Exit(err.exit_code) from None
    except (typer.Exit, typer.Abort):
        raise
    except KeyboardInterrupt:
        if debug:
            raise
        typer.secho("interrupted", fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(130) from None
    except Exception as err:  # a failure nothing foresaw is still one line; --debug shows where it came from
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        message = f"{type(err).__name__}: {first_line(err)}" if str(err).strip() else type(err).__name__
        typer.secho(f"error: {message} (--debug shows the traceback)", fg="red", err=True)
        raise typer.Exit(1) from None
    finally:
        if saved is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved


@app.command(context_settings=PASS_THROUGH, help=TRAIN_HELP)
def train(
    overrides: Overrides = None,
    verbose: bool = typer.Option(False, "--verbose", help="Print the whole config tree at the start."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    from dltool.commands.train import train_command
    from dltool.lifeline import follow_parent

    follow_parent()  # a sweep's trial ends with its sweep
    with _user_errors(debug):
        code = train_command(_full_keys(overrides), verbose)
    raise typer.Exit(code)


def _full_keys(overrides: list[str] | None) -> list[str]:
    """The command line with short keys (``epochs=10``) written out in full, saying so once."""
    from dltool.config import expand_aliases

    argv, notes = expand_aliases(list(overrides or []))
    if notes:  # on stderr: stdout stays the command's own (show --json, --cfg job)
        typer.secho(f"short keys: {', '.join(notes)}", dim=True, err=True)
    return argv


@app.command(context_settings=PASS_THROUGH, help=SWEEP_HELP)
def sweep(
    overrides: Overrides = None, debug: bool = typer.Option(False, "--debug", help="Show full tracebacks.")
) -> None:
    from dltool.sweep import run_sweep

    with _user_errors(debug):
        try:
            code = run_sweep(_full_keys(overrides))
        except KeyboardInterrupt:
            typer.secho("interrupted: running trials were queued again; continue with sweep.resume=<dir>", err=True)
            raise typer.Exit(130) from None
    raise typer.Exit(code)


@app.command(context_settings=PASS_THROUGH, help=SHOW_HELP)
def show(
    overrides: Overrides = None,
    as_json: bool = typer.Option(False, "--json", help="Print {params, config} as JSON for scripts."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    from dltool.commands.show import show_command

    with _user_errors(debug):
        show_command(_full_keys(overrides), as_json)


@app.command(context_settings=PASS_THROUGH, help=EVALUATE_HELP)
def evaluate(
    ctx: typer.Context,
    unsafe: bool = typer.Option(False, "--unsafe", help="Load checkpoints holding Python code (trusted files only)."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    with _user_errors(debug):
        from dltool.commands.evaluate import evaluate as run_evaluation

        run_evaluation(list(ctx.args), unsafe=unsafe)


@app.command(help=PREDICT_HELP)
def predict(
    run: Annotated[str, typer.Argument(help="Run directory or .keras file.")],
    inputs: Annotated[list[str], typer.Argument(help="Image files or folders, .csv files, .npy files.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="CSV file to write (default: RUN/predictions/<date_time>.csv).")
    ] = None,
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
    show: int = typer.Option(10, "--show", help="Rows printed in the table."),
    unsafe: bool = typer.Option(False, "--unsafe", help="Load checkpoints holding Python code (trusted files only)."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    with _user_errors(debug):
        from dltool.commands.predict import predict_files, print_predictions

        rows, written = predict_files(run, inputs, out, overwrite=overwrite, unsafe=unsafe)
    print_predictions(rows, written, show)


@app.command(context_settings=PASS_THROUGH, help=EXPORT_HELP)
def export(
    ctx: typer.Context,
    run: str = typer.Argument(..., help="Run directory or .keras file."),
    unsafe: bool = typer.Option(False, "--unsafe", help="Load checkpoints holding Python code (trusted files only)."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    with _user_errors(debug):
        from dltool.commands.export import export_run

        found = export_run(run, list(ctx.args), unsafe=unsafe)
    typer.echo(
        f"exported {found['format']} to {found['path']}: max abs difference from the checkpoint "
        f"{found['max_abs_diff']:.3g} on {found['samples']} random inputs"
    )


@app.command(help=RUNS_HELP)
def runs(
    root: Annotated[Path, typer.Option("--root", help="Folder searched for run directories.")] = Path("outputs"),
    sort: str = typer.Option(None, "--sort", help="Column or key to sort by (default: date)."),
    desc: bool = typer.Option(False, "--desc", help="Sort in descending order."),
    where: Annotated[
        list[str] | None, typer.Option("--where", help="key=value filter on a column or config key (repeatable).")
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option("--column", "-c", help="Add a column: a config or results key, e.g. params.total (repeatable)."),
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON for scripts."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    from dltool.commands.runs import check_keys, filter_rows, print_runs, public, scan_runs, sort_rows

    with _user_errors(debug):
        rows = sort_rows(filter_rows(scan_runs(root), where or []), sort, descending=desc)
        check_keys(rows, column or [], "--column")
    if as_json:
        typer.echo(json.dumps([public(row) for row in rows], indent=2, default=str))
    else:
        print_runs(rows, root, column)


@app.command(help=CHECKS_HELP)
def checks(
    backend: str = typer.Option("tensorflow", "--backend", help="Keras backend whose devices are listed."),
    root: Annotated[Path, typer.Option("--root", help="Folder whose free disk is reported.")] = Path("outputs"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON for scripts."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    from dltool.checks import collect, report_lines

    with _user_errors(debug):
        report = collect(backend, root)
    typer.echo(json.dumps(report, indent=2) if as_json else "\n".join(report_lines(report)))


@app.command("list", help=LIST_HELP)
def list_options(
    group: Annotated[str | None, typer.Argument(help="A config group: data, model, optimizer, ...")] = None,
    config_dirs: Annotated[
        list[str] | None, typer.Option("--config-dir", "-cd", help="Your own config directory (repeatable).")
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="Print {group: {option: description}} as JSON."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    from dltool.config.catalog import catalog, group_options

    with _user_errors(debug):
        groups = {group: group_options(group, config_dirs or [])} if group else catalog(config_dirs or [])
    if as_json:
        typer.echo(
            json.dumps({g: {o.name: o.description for o in opts.values()} for g, opts in groups.items()}, indent=2)
        )
        return
    from rich.markup import escape
    from rich.table import Table

    from dltool.console import console

    for name, options in groups.items():
        table = Table(title=f"{name}=<option>", title_justify="left", show_header=False, box=None, padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for option in options.values():
            table.add_row(f"{option.name}{' *' if option.default else ''}", escape(option.description))  # [extras]
        console.print(table)
        console.print()


def main() -> None:
    """Console-script entry point."""
    if "--debug" not in sys.argv and os.environ.get("HYDRA_FULL_ERROR") != "1":
        from dltool.quiet import quiet_libraries

        quiet_libraries()
    app(prog_name="dltool")


if __name__ == "__main__":
    sys.exit(main())
