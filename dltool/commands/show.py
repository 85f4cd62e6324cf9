"""``dltool show``: the resolved config tree, and the model's layers and parameter counts, without training."""

from __future__ import annotations

import json

import typer


def show_command(argv: list[str], as_json: bool = False) -> None:
    """Compose and validate ``argv`` as ``dltool train`` would, build the model, and print both."""
    from omegaconf import OmegaConf

    from dltool.config import HydraArgs, compose, validate
    from dltool.data import data_spec
    from dltool.models import build_model, model_note
    from dltool.training.artifacts import model_summary_text
    from dltool.training.backend import check_run_imports
    from dltool.training.build import param_counts

    args = HydraArgs.parse(argv)
    cfg = compose(args.overrides, args.config_name, args.config_dirs, args.config_path)
    run = validate(cfg)
    check_run_imports(cfg, run)  # the model built below may use the config's own layers
    spec = data_spec(run.data)
    model = build_model(run.model, spec, run.regularization)
    container = OmegaConf.to_container(cfg, resolve=True)
    if as_json:
        typer.echo(json.dumps({"params": param_counts(model), "config": container}, indent=2))
        return
    from dltool.console import print_config_tree

    print_config_tree(container)
    typer.echo(model_summary_text(model))
    if note := model_note(run.model, spec):
        typer.echo(note)
