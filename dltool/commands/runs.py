"""``dltool runs``: one row per run directory under a root, for a table or for scripts.

A run directory is one holding ``.hydra/`` or ``results.json``. Its status is ``results.json``'s
(``completed``, ``failed``, ``interrupted``), ``incomplete`` when it has none yet (running, or
killed), or ``corrupt`` when its ``results.json`` or ``.hydra/config.yaml`` cannot be read.

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
from typing import TYPE_CHECKING, Any

from dltool.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from rich.table import Table

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
        row.update(best_val=results.get(f"best_{monitor}"), monitor=monitor, epochs=results.get("epochs_run"))
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
    asked = list(dict.fromkeys(extra or []))
    columns = [*COLUMNS[:5], *[k for k in asked if k not in COLUMNS], *COLUMNS[5:]]
    print_table(rows, f"{len(rows)} runs under {root}", columns, keep={"run", *asked}, hint="-c NAME")


def print_multirun(jobs: list[tuple[Path, list[str]]]) -> None:
    """A multirun's closing comparison: one row per job (its run directory and its overrides), the values
    of the keys that differ between jobs, best first by the monitored metric."""
    values = [dict(_key_value(o) for o in overrides) for _, overrides in jobs]
    swept = [k for k in dict.fromkeys(k for v in values for k in v) if len({v.get(k) for v in values}) > 1]
    rows = []
    for (path, _), given in zip(jobs, values, strict=True):
        row = read_run(path, path.parent)
        if not path.is_dir():  # bad input found late removes the run directory
            row["status"] = "failed"
        row.update({k: given.get(k) for k in swept}, run=_shown_path(path))
        rows.append(row)
    sweep_dir = _shown_path(jobs[0][0].parent)
    print_table(
        best_first(rows),
        f"{len(rows)} runs of the multirun, best first",
        ["run", *swept, "best_val", "test", "epochs", "status"],
        keep={"run", *swept},
        hint=f"dltool runs --root {sweep_dir} -c NAME",
    )


def best_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows by their best monitored value (``callbacks.mode``, or Keras' rule for ``auto``), those without last."""
    from dltool.training.checkpoints import monitor_mode

    def score(row: dict[str, Any]) -> float:
        config = row["config"] if isinstance(row["config"], dict) else {}
        mode = (config.get("callbacks") or {}).get("mode", "auto")
        sign = -1 if (monitor_mode(row["monitor"]) if mode == "auto" else mode) == "max" else 1
        return sign * row["best_val"]

    scored = [r for r in rows if isinstance(r.get("best_val"), int | float)]
    return sorted(scored, key=score) + [r for r in rows if r not in scored]


def _key_value(override: str) -> tuple[str, str]:
    key, _, value = override.lstrip("+~").partition("=")
    return key, value


def _shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it (as a command takes it), else absolute."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def print_table(rows: list[dict[str, Any]], title: str, columns: list[str], keep: set[str], hint: str) -> None:
    """The rows as a table fitted to the terminal's width, then one dim line naming the columns left out and
    the command that shows one (``hint``)."""
    from dltool.console import console

    table, left_out = runs_table(rows, title, columns, keep, console.width)
    console.print(table, crop=False)  # columns that must stay and still overflow are not cut off either
    if left_out:
        console.print(
            f"[dim]hidden at {console.width} columns: {', '.join(left_out)}; widen or use {hint}", highlight=False
        )


def runs_table(
    rows: list[dict[str, Any]], title: str, columns: list[str], keep: set[str], width: int
) -> tuple[Table, list[str]]:
    """A table of the rows within ``width`` terminal cells, and the columns left out to fit it.

    The run id (what evaluate, predict and export take) is never shortened nor wrapped; when the
    terminal is narrow the least important columns go first (``_LEFT_OUT_FIRST``), never those in
    ``keep``; what still does not fit wraps between words (a word longer than 12 cells folds), and
    headers stay whole.
    """
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    # one metric over all rows: its name goes into the title, the cells hold the number alone
    named = {
        c: {r.get("monitor" if c == "best_val" else "test_metric") for r in rows if r.get(c) is not None}
        for c in ("best_val", "test")
    }
    cells = {c: [_text(row, c, len(named.get(c, ())) > 1) for row in rows] for c in columns}
    natural = {c: max([cell_len(c), *map(cell_len, cells[c])]) for c in columns}
    shown, left_out = _fit(columns, natural, width, keep)
    shared = [f"{c}: {next(iter(named[c]))}" for c in ("best_val", "test") if c in shown and len(named[c]) == 1]
    table = Table(title=title + (f" ({', '.join(shared)})" if shared else ""))
    for column in shown:
        words = [cell_len(w) for text in cells[column] for w in text.split()]
        table.add_column(
            column,
            justify="right" if column in ("best_val", "test", "epochs") else "left",
            no_wrap=column == "run",
            overflow="fold",
            min_width=natural[column] if column == "run" else max([cell_len(column), *[min(w, 12) for w in words]]),
        )
    colors = {"completed": "green", "failed": "red", "corrupt": "red", "incomplete": "yellow", "interrupted": "yellow"}
    for i in range(len(rows)):
        # Text, not markup: a run's name or config value is shown as written
        table.add_row(*(Text(cells[c][i], style=colors.get(cells[c][i], "") if c == "status" else "") for c in shown))
    return table, left_out


# The order in which columns are left out of a table too wide for the terminal: the date is in the run id
# of a dated run directory; the run id, the metrics and the status always stay.
_LEFT_OUT_FIRST = ("name", "data", "epochs", "date", "model")


def _fit(columns: list[str], widths: dict[str, int], width: int, keep: set[str]) -> tuple[list[str], list[str]]:
    """The columns whose natural widths fit ``width`` (cell padding and borders included), and those left out."""
    shown = list(columns)
    left_out = []
    for column in _LEFT_OUT_FIRST:
        if sum(widths[c] + 3 for c in shown) + 1 <= width:
            break
        if column in shown and column not in keep:
            shown.remove(column)
            left_out.append(column)
    return shown, left_out


def _text(row: dict[str, Any], column: str, with_metric: bool) -> str:
    """A cell's plain text; a metric carries its name when the rows do not share one."""
    value = row.get(column) if column in COLUMNS else _lookup(row, column)
    if column in ("best_val", "test") and isinstance(value, int | float):
        metric = row["monitor"] if column == "best_val" else row["test_metric"]
        return f"{metric} {value:.4g}" if with_metric else f"{value:.4g}"
    return "" if value is None else str(value)
