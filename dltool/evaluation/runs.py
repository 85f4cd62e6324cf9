"""``dltool runs``: one row per run directory under a root, for a table or for scripts.

A run directory is one holding ``.hydra/`` or ``results.json``. Its status is ``results.json``'s
(``completed``, ``failed``, ``interrupted``), ``incomplete`` when it has none yet (running, or
killed), or ``corrupt`` when its ``results.json`` or ``.hydra/config.yaml`` cannot be read.
``--where`` filters, ``--sort`` orders and ``--column`` shows a row's columns or any dotted key of the
run's config or of its ``results.json``.

Example:
    >>> rows = filter_rows(scan_runs(Path("outputs")), ["model=mlp"])  # doctest: +SKIP
    >>> rows = sort_rows(rows, "test_accuracy", descending=True)  # doctest: +SKIP
    >>> [(r["run"], r["status"]) for r in rows]  # doctest: +SKIP
    [('2026-11-23/10-00-00', 'completed')]
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dltool.errors import ConfigError, did_you_mean

COLUMNS = ("date", "run", "name", "model", "data", "best_val", "test", "epochs", "status")
_DATED = re.compile(r"(\d{4}-\d{2}-\d{2})/(\d{2})-(\d{2})-(\d{2})")


def scan_runs(root: Path) -> list[dict[str, Any]]:
    """One row per run directory under ``root``, in path order."""
    if not root.is_dir():
        raise ConfigError(f"{root}: no such directory (train a run first, or give --root DIR)")
    found = {p.parent for p in root.rglob(".hydra")} | {p.parent for p in root.rglob("results.json")}
    return [read_run(path, root) for path in sorted(found)]


def read_run(path: Path, root: Path) -> dict[str, Any]:
    """The row of one run directory; never raises on a broken one."""
    relative = path.relative_to(root).as_posix() if path != root else path.name
    row: dict[str, Any] = {"run": relative, "path": str(path), "status": "incomplete", "config": {}}
    try:
        config_file = path / ".hydra" / "config.yaml"
        if config_file.is_file():
            from omegaconf import OmegaConf

            row["config"] = OmegaConf.to_container(OmegaConf.load(config_file))
        results = json.loads((path / "results.json").read_text()) if (path / "results.json").is_file() else None
    except Exception as err:  # any unreadable or malformed file: report, don't stop the listing
        row.update(status="corrupt", error=f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
        results = None
    config = row["config"] if isinstance(row["config"], dict) else {}
    match = _DATED.search(relative)
    row["date"] = f"{match.group(1)} {match.group(2)}:{match.group(3)}:{match.group(4)}" if match else None
    row["name"] = config.get("name")
    row["model"] = (config.get("model") or {}).get("name")
    row["data"] = (config.get("data") or {}).get("name")
    if isinstance(results, dict):
        row["results"] = results
        row["status"] = str(results.get("status", "corrupt"))
        if results.get("started_at"):
            row["date"] = str(results["started_at"]).replace("T", " ")
        monitor = results.get("monitor")
        row["best_val"] = results.get(f"best_{monitor}")
        row["monitor"] = monitor
        row["epochs"] = results.get("epochs_run")
        row.update({k: v for k, v in results.items() if k.startswith(("test_", "best_val_"))})
        test_key = next((k for k in ("test_accuracy", "test_mae", "test_loss") if k in results), None)
        if test_key:
            row.update(test=results[test_key], test_metric=test_key.removeprefix("test_"))
    elif results is not None:
        row["status"] = "corrupt"
    return row


def _lookup(row: dict[str, Any], key: str) -> Any:
    """A column of the row, else a dotted key of its config, else of its results.json."""
    if key in row and key not in ("config", "results"):
        return row[key]
    for tree in (row["config"], row.get("results", {})):
        node: Any = tree
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return node
    return None


def _flat_keys(node: Any, prefix: str = "") -> list[str]:
    if not isinstance(node, dict):
        return [prefix]
    return [k for key, value in node.items() for k in _flat_keys(value, f"{prefix}{key}.")]


def check_keys(rows: list[dict[str, Any]], keys: list[str], flag: str) -> None:
    """Refuse a key no row has (a column, a results key or a dotted config key), with a close match."""
    known = {k for row in rows for k in row if k not in ("config", "results")} | {
        k.rstrip(".") for row in rows for tree in (row["config"], row.get("results", {})) for k in _flat_keys(tree)
    }
    for key in keys:
        if rows and key not in known:
            raise ConfigError(
                f"{flag} {key}: no run has the key '{key}'{did_you_mean(key, known)}; "
                f"columns: {', '.join(COLUMNS)}, any config key like trainer.epochs or results key like params.total"
            )


def filter_rows(rows: list[dict[str, Any]], where: list[str]) -> list[dict[str, Any]]:
    """The rows where every ``key=value`` holds (numbers compare as numbers)."""
    for condition in where:
        key, sep, wanted = condition.partition("=")
        if not sep or not key:
            raise ConfigError(f"--where {condition}: expected key=value, e.g. --where model=resnet")
        check_keys(rows, [key], "--where")
        rows = [row for row in rows if _matches(_lookup(row, key), wanted)]
    return rows


def _matches(value: Any, wanted: str) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(value) == float(wanted)
        except ValueError:
            return False
    return str(value).lower() == wanted.lower()


def sort_rows(rows: list[dict[str, Any]], key: str | None, descending: bool = False) -> list[dict[str, Any]]:
    """Rows ordered by ``key`` (runs without it last), or by date; a key no run has is refused."""
    if key:
        check_keys(rows, [key], "--sort")
    key = key or "date"
    present = [r for r in rows if _lookup(r, key) is not None]
    absent = [r for r in rows if _lookup(r, key) is None]
    try:
        present.sort(key=lambda r: _lookup(r, key), reverse=descending)
    except TypeError:  # mixed types: compare as text
        present.sort(key=lambda r: str(_lookup(r, key)), reverse=descending)
    return present + absent


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its config and full results, for ``--json``."""
    return {k: v for k, v in row.items() if k not in ("config", "results")}


def print_runs(rows: list[dict[str, Any]], root: Path, extra: list[str] | None = None) -> None:
    """The rows as a rich table; ``extra`` adds columns of config or results keys (the keys a comparison varies)."""
    from rich.table import Table

    from dltool.console import console

    colors = {"completed": "green", "failed": "red", "corrupt": "red", "incomplete": "yellow", "interrupted": "yellow"}
    columns = [*COLUMNS[:5], *(extra or []), *COLUMNS[5:]]
    table = Table(title=f"{len(rows)} runs under {root}")
    for column in columns:
        table.add_column(column, justify="right" if column in ("best_val", "test", "epochs") else "left")
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column) if column in COLUMNS else _lookup(row, column)
            if column in ("best_val", "test") and isinstance(value, int | float):
                value = f"{row['monitor'] if column == 'best_val' else row['test_metric']} {value:.4g}"
            elif column == "status":
                value = f"[{colors.get(str(value), 'white')}]{value}"
            cells.append("" if value is None else str(value))
        table.add_row(*cells)
    console.print(table)
