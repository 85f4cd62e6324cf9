"""The ``dltool`` command line: a thin Typer app.

``train`` hands its arguments to Hydra's ``@hydra.main`` entry point (every Hydra feature
works), after composing and validating the same overrides so that bad input is one line and
exit 2. Heavy imports (Keras, TensorFlow) happen inside the commands that need them.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator

import typer

from dltool import __version__
from dltool.errors import DltoolError

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
"""

SWEEP_HELP = """Search hyperparameters with Optuna: every trial is a full `dltool train` run in its own process.

OVERRIDES: sweep=<preset> (conf/sweep/), sweep.* settings (sampler, pruner, metric, direction, n_trials,
timeout, n_jobs, gpus_per_trial, storage, study_name, resume), searched keys in Hydra's sweep grammar
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
    """Turn a DltoolError into one line on stderr and its exit code (a traceback with --debug)."""
    if debug:
        os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    except DltoolError as err:
        if debug or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        raise typer.Exit(err.exit_code) from None


@app.command(context_settings=PASS_THROUGH, help=TRAIN_HELP)
def train(ctx: typer.Context, debug: bool = typer.Option(False, "--debug", help="Show full tracebacks.")) -> None:
    from dltool.config import HydraArgs, compose, expand_sweeps

    argv = list(ctx.args)
    with _user_errors(debug):
        args = HydraArgs.parse(argv)
        if not args.informational:
            from dltool.config import validate
            from dltool.train import refuse_existing_run_dir

            refuse_existing_run_dir(args.overrides)
            for overrides in expand_sweeps(args.overrides):
                validate(compose(overrides, args.config_name, args.config_dirs, args.config_path))
    from dltool.train import run_hydra

    raise typer.Exit(run_hydra(argv, args.config_name))


@app.command(context_settings=PASS_THROUGH, help=SWEEP_HELP)
def sweep(ctx: typer.Context, debug: bool = typer.Option(False, "--debug", help="Show full tracebacks.")) -> None:
    from dltool.sweep import run_sweep

    with _user_errors(debug):
        try:
            code = run_sweep(list(ctx.args))
        except KeyboardInterrupt:
            typer.secho("interrupted: running trials were queued again; continue with sweep.resume=<dir>", err=True)
            raise typer.Exit(130) from None
    raise typer.Exit(code)


@app.command(context_settings=PASS_THROUGH, help=SHOW_HELP)
def show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print {params, config} as JSON for scripts."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
) -> None:
    from omegaconf import OmegaConf

    from dltool.config import HydraArgs, compose, validate

    with _user_errors(debug):
        args = HydraArgs.parse(list(ctx.args))
        cfg = compose(args.overrides, args.config_name, args.config_dirs, args.config_path)
        run = validate(cfg)
        from dltool.data import data_spec
        from dltool.models import build_model
        from dltool.training.artifacts import model_summary_text
        from dltool.training.build import param_counts

        model = build_model(run.model, data_spec(run.data), run.regularization)
    container = OmegaConf.to_container(cfg, resolve=True)
    if as_json:
        typer.echo(json.dumps({"params": param_counts(model), "config": container}, indent=2))
        return
    from dltool.console import print_config_tree

    print_config_tree(container)
    typer.echo(model_summary_text(model))


def main() -> None:
    """Console-script entry point."""
    app(prog_name="dltool")


if __name__ == "__main__":
    sys.exit(main())
