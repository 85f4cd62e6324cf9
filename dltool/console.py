"""What a person sees in the terminal: the config tree at start, the results table at the end."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

console = Console()


def print_config_tree(config: dict[str, Any], title: str = "config") -> None:
    """The resolved config as a rich tree, one branch per group."""
    tree = Tree(f"[bold]{title}")
    _add(tree, config)
    console.print(tree)


def print_config_summary(choices: dict[str, str | None], overrides: list[str], run_dir: str) -> None:
    """One line in place of the tree: the groups chosen (data, model and optimizer always, the others where
    they differ from their default) and the command line's other overrides.

    >>> print_config_summary({"data": "digits", "model": "mlp", "optimizer": "adam", "regularization": "none",
    ...     "trainer": "default", "experiment": None}, ["model=mlp", "trainer.epochs=3"], "outputs/run")
    config: data=digits model=mlp optimizer=adam trainer.epochs=3 → outputs/run
    """
    always = ("data", "model", "optimizer")
    shown = [
        f"{group}={choice}"
        for group, choice in choices.items()
        if group in always or choice not in (None, "none", "default")
    ]
    keys = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in choices]
    console.print(f"config: {' '.join([*shown, *keys])} → {run_dir}", highlight=False, soft_wrap=True)


def _add(tree: Tree, node: Any) -> None:
    for key, value in node.items():
        if isinstance(value, dict) and value:
            _add(tree.add(f"[bold cyan]{key}"), value)
        else:
            tree.add(f"[cyan]{key}[/]: {value}")


def print_results(results: dict[str, Any]) -> None:
    """The end-of-run table: status, best epoch, test metrics, time and throughput."""
    table = Table(title=f"run {results.get('status', '?')}", show_header=False)
    rows = [
        ("run directory", results.get("run_dir")),
        ("best epoch", results.get("best_epoch")),
        *[(k, v) for k, v in results.items() if k.startswith(("best_val_", "test_", "final_"))],
        ("epochs run", results.get("epochs_run")),
        ("train time (s)", results.get("train_time_s")),
        ("samples/s", results.get("samples_per_s")),
        ("parameters", results.get("params", {}).get("total")),
        ("device", results.get("device")),
    ]
    for key, value in rows:
        if value is not None:
            table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
