"""dltool's defaults on tables vs scikit-learn's strong baselines, on the same rows.

    python bench/baselines.py                                           # the built-in tables
    python bench/baselines.py --table insurance.csv --target charges    # and your own (repeatable, CSV or Parquet)
    python bench/baselines.py --no-builtin --table t.parquet --target y --json baselines.json
    python bench/baselines.py --seeds 42 1 2                            # three splits of every table

Per table, one ``dltool train data=csv data.path=TABLE data.target=COL`` in its own process (dltool's defaults:
the MLP, 30 epochs, Adam), and beside it:

- ``hist_gradient_boosting``: ``HistGradientBoostingClassifier`` / ``Regressor`` (``random_state=0``), numbers as
  they are (missing: NaN), category and binary columns as categorical features (``categorical_features``), text
  columns left out;
- ``tfidf_linear`` (tables with a text column): TF-IDF of each text column (words and word pairs, the 5,000 most
  frequent) beside one-hot categories and standardized numbers, into ``LogisticRegression`` / ``Ridge``;
- ``mean``: the training targets' mean (regression) or most frequent class: the floor.

The rows are dltool's own split (``dltool.data.tabular.split_rows`` with ``trainer.seed``, each of ``--seeds`` in
turn: on a table of a few hundred rows one split's test set moves the ratio by several points): the baselines fit on
the training rows (dltool's validation rows only pick its best epoch) and every side is scored on the test rows,
whose row numbers are written to ``<work>/<table>/split.json``. Column types are dltool's
(``column_types``). Score: accuracy (classification) or MAE (regression, in the target's units); ``ratio`` is
dltool over the best baseline, higher-is-better (accuracy / best accuracy, best MAE / MAE): 1.00 is a tie;
``seconds``: each side's wall time (dltool: its whole `train` process).

The built-in tables are written from scikit-learn's bundled data sets and generators (no download): diabetes
(regression), breast_cancer (binary), wine (3 classes), ``charges`` (1,338 generated rows shaped like the
medical-insurance table: age, sex, bmi, children, smoker, region; charges that jump for smokers with a high bmi)
``messages`` (2,000 generated short texts, spam or ham, whose words overlap) and ``gems`` (53,940 generated rows
shaped like the gem-price table: carat, cut, color, clarity, depth, table, x; a price that is a power of the carat
times a factor per grade).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import ROOT, child_env, median_range, run_side_process

SEED = 42  # trainer.seed's default: dltool's split


def builtin_tables(folder: Path) -> list[tuple[Path, str]]:
    """The built-in tables written as CSV files into ``folder``: (path, target column)."""
    from sklearn import datasets

    tables = []
    for name in ("diabetes", "breast_cancer", "wine"):
        bunch = getattr(datasets, f"load_{name}")()
        header = [str(f).replace(" ", "_") for f in bunch.feature_names]
        # class names as targets: numbers 0, 1, 2 would make a regression (data.task=auto)
        rows = [
            [*(repr(float(v)) for v in x), repr(float(y)) if name == "diabetes" else bunch.target_names[y]]
            for x, y in zip(bunch.data, bunch.target, strict=True)
        ]
        tables.append((_write(folder / f"{name}.csv", [*header, "target"], rows), "target"))
    tables.append((_write(folder / "charges.csv", *_charges()), "charges"))
    tables.append((_write(folder / "messages.csv", *_messages()), "label"))
    tables.append((_write(folder / "gems.csv", *_gems()), "price"))
    return tables


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _charges(n: int = 1338) -> tuple[list[str], list[list]]:
    rng = np.random.default_rng(0)
    age, bmi, children = rng.integers(18, 65, n), rng.normal(30.7, 6.1, n), rng.integers(0, 6, n)
    smoker, sex = rng.random(n) < 0.2, rng.choice(["female", "male"], n)
    region = rng.choice(["northeast", "northwest", "southeast", "southwest"], n)
    charges = 250 * age + 500 * children + 300 * (region == "southeast") + rng.gamma(2.0, 1500.0, n)
    charges += smoker * (15000 + 20000 * (bmi > 30))  # smokers pay more, obese smokers far more
    rows = [
        [int(a), s, f"{b:.2f}", int(c), "yes" if k else "no", r, f"{y:.2f}"]
        for a, s, b, c, k, r, y in zip(age, sex, bmi, children, smoker, region, charges, strict=True)
    ]
    return ["age", "sex", "bmi", "children", "smoker", "region", "charges"], rows


def _gems(n: int = 53_940) -> tuple[list[str], list[list]]:
    rng = np.random.default_rng(0)
    carat = np.clip(rng.lognormal(-0.4, 0.55, n), 0.2, 5.0)
    cuts, colors = ["Fair", "Good", "Very Good", "Premium", "Ideal"], list("JIHGFED")
    clarities = ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"]
    cut, color, clarity = rng.integers(0, 5, n), rng.integers(0, 7, n), rng.integers(0, 8, n)
    depth, table = rng.normal(61.7, 1.4, n), rng.normal(57.5, 2.2, n)
    x = 6.4 * carat ** (1 / 3) + rng.normal(0, 0.05, n)
    # price: a power of the carat, each grade a factor, multiplicative noise
    log_price = 8.4 + 1.7 * np.log(carat) + 0.04 * cut + 0.07 * color + 0.09 * clarity + rng.normal(0, 0.12, n)
    rows = [
        [f"{c:.2f}", cuts[a], colors[b], clarities[d], f"{e:.1f}", f"{t:.0f}", f"{w:.2f}", f"{np.exp(p):.0f}"]
        for c, a, b, d, e, t, w, p in zip(carat, cut, color, clarity, depth, table, x, log_price, strict=True)
    ]
    return ["carat", "cut", "color", "clarity", "depth", "table", "x", "price"], rows


def _messages(n: int = 2000) -> tuple[list[str], list[list]]:
    rng = np.random.default_rng(0)
    common = [f"w{i}" for i in range(300)]
    spam = ["free", "win", "cash", "prize", "claim", "offer", "urgent", "txt", "reply", "now", "call", "mobile"]
    ham = ["lunch", "later", "home", "tonight", "sorry", "love", "meeting", "ok", "going", "call", "now", "see"]
    rows = []
    for _ in range(n):
        label = "spam" if rng.random() < 0.15 else "ham"
        own = spam if label == "spam" else ham
        words = [own[rng.integers(len(own))] if rng.random() < 0.2 else common[rng.integers(300)] for _ in range(10)]
        rows.append([" ".join(words), len(words) + int(rng.integers(0, 3)), label if rng.random() > 0.03 else "ham"])
    return ["message", "length", "label"], rows


def dltool_score(table: Path, target: str, task: str, work: Path, overrides: list[str], seed: int = SEED) -> float:
    """``dltool train`` with its defaults on the table; its test accuracy or MAE from results.json."""
    args = [f"data.path={table}", f"data.target={target}", f"trainer.seed={seed}", *overrides]
    run_side_process([sys.executable, "-m", "dltool", "train", "data=csv", *args], work, child_env())
    (found,) = (work / "outputs").rglob("results.json")
    results = json.loads(found.read_text())
    return float(results["test_mae" if task == "regression" else "test_accuracy"])


def baseline_scores(
    table: Path, target: str, work: Path, seed: int = SEED
) -> tuple[str, dict[str, float], dict[str, list[int]]]:
    """The task, each baseline's test score, and the split's row numbers (dltool's, with ``seed``)."""
    from dltool.data import data_spec
    from dltool.data.tables import CSVConfig
    from dltool.data.tabular import column_types, read_table, split_rows

    cfg = CSVConfig(path=str(table), target=target)
    task, types = data_spec(cfg).task, column_types(cfg)
    rows = {split: index.tolist() for split, index in split_rows(cfg, seed).items()}
    cells = read_table(cfg).columns
    y_cells = cells[target]
    y = y_cells.astype(float) if task == "regression" else y_cells
    train, test = np.array(rows["train"]), np.array(rows["test"])
    scores = {"mean": _floor(task, y[train], y[test])}
    scores["hist_gradient_boosting"] = _boosting(task, types, cells, y, train, test)
    if "text" in types.values():
        scores["tfidf_linear"] = _tfidf_linear(task, types, cells, y, train, test)
    return task, scores, rows


def _score(task: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import accuracy_score, mean_absolute_error

    if task == "regression":
        return float(mean_absolute_error(truth, predicted))
    return float(accuracy_score(truth, predicted))


def _floor(task: str, y_train: np.ndarray, y_test: np.ndarray) -> float:
    if task == "regression":
        return _score(task, y_test, np.full(len(y_test), y_train.mean()))
    values, counts = np.unique(y_train, return_counts=True)
    return _score(task, y_test, np.full(len(y_test), values[counts.argmax()]))


def _numbers(cells: np.ndarray) -> np.ndarray:
    from dltool.data.tables import MISSING

    return np.array([np.nan if c.lower() in MISSING else float(c) for c in cells])


def _boosting(task: str, types: dict[str, str], cells: dict, y: np.ndarray, train: np.ndarray, test: np.ndarray):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    columns, categorical = [], []
    for name, kind in types.items():
        if kind == "number":
            columns.append(_numbers(cells[name]))
        elif kind in ("category", "binary"):
            _, codes = np.unique(cells[name], return_inverse=True)  # codes of every row's value
            columns.append(codes.astype(float))
        else:
            continue
        categorical.append(kind != "number")
    x = np.column_stack(columns)
    model_type = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    model = model_type(categorical_features=np.array(categorical), random_state=0)
    model.fit(x[train], y[train])
    return _score(task, y[test], model.predict(x[test]))


def _tfidf_linear(task: str, types: dict[str, str], cells: dict, y: np.ndarray, train: np.ndarray, test: np.ndarray):
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    names = list(types)
    x = np.column_stack([cells[name] for name in names]).astype(object)
    parts = []
    for i, (name, kind) in enumerate(types.items()):
        if kind == "text":
            parts.append((name, TfidfVectorizer(ngram_range=(1, 2), max_features=5000), i))
        elif kind == "number":
            x[:, i] = _numbers(cells[name])
            parts.append((name, make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), [i]))
        else:
            parts.append((name, OneHotEncoder(handle_unknown="ignore"), [i]))
    linear = Ridge() if task == "regression" else LogisticRegression(max_iter=2000)
    model = make_pipeline(ColumnTransformer(parts), linear)
    model.fit(x[train], y[train])
    return _score(task, y[test], model.predict(x[test]))


def ratio(task: str, ours: float, best: float) -> float:
    """dltool's score over the best baseline's, higher-is-better (for an error: best / ours).

    >>> ratio("regression", 4.0, 2.0), ratio("binary", 0.9, 0.95) < 1
    (0.5, True)
    """
    return best / ours if task == "regression" else ours / best


def compare(table: Path, target: str, work: Path, overrides: list[str], seed: int = SEED) -> dict:
    """One table's line on the split of ``seed``: task, rows, every side's score, dltool's ratio to the best
    baseline."""
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    task, scores, rows = baseline_scores(table, target, work, seed)
    (work / "split.json").write_text(json.dumps(rows))
    middle = time.perf_counter()
    scores["dltool"] = dltool_score(table, target, task, work, overrides, seed)
    seconds = {"baselines": middle - start, "dltool": time.perf_counter() - middle}
    baselines = {k: v for k, v in scores.items() if k not in ("dltool", "mean")}
    best_name = (min if task == "regression" else max)(baselines, key=baselines.get)
    return {
        "table": table.name,
        "target": target,
        "seed": seed,
        "task": task,
        "rows": {split: len(index) for split, index in rows.items()},
        "metric": "mae" if task == "regression" else "accuracy",
        "scores": scores,
        "best_baseline": best_name,
        "ratio": ratio(task, scores["dltool"], scores[best_name]),
        "seconds": seconds,
    }


def print_table(lines: list[dict]) -> None:
    """One row per table and split, then each table's ratio over its splits: median (min-max)."""
    print(
        f"{'table':<18} {'seed':>5} {'task':<11} {'metric':<9} {'dltool':>10}  {'best baseline':<34} {'mean':>10}"
        f" {'ratio':>6} {'seconds':>8}"
    )
    for line in lines:
        s, best = line["scores"], line["best_baseline"]
        best_text = f"{s[best]:.4g} ({best})"
        print(
            f"{line['table']:<18} {line['seed']:>5} {line['task']:<11} {line['metric']:<9} {s['dltool']:>10.4g}  "
            f"{best_text:<34} {s['mean']:>10.4g} {line['ratio']:>6.3f} {line['seconds']['dltool']:>8.1f}"
        )
    print("\nratio over the splits, median (min-max):")
    for table in dict.fromkeys(line["table"] for line in lines):
        print(f"{table:<18} {median_range([line['ratio'] for line in lines if line['table'] == table])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="append", default=[], type=Path, help="a CSV or Parquet table")
    parser.add_argument("--target", action="append", default=[], help="its target column (one per --table)")
    parser.add_argument("--no-builtin", action="store_true", help="only the --table tables")
    parser.add_argument("--override", action="append", default=[], help="KEY=VALUE for every dltool run")
    parser.add_argument("--json", type=Path, default=None, help="write the lines here")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[SEED], help="splits (trainer.seed) to compare on, each in turn"
    )
    args = parser.parse_args()
    if len(args.table) != len(args.target):
        parser.error("give one --target per --table")
    with tempfile.TemporaryDirectory(prefix="baselines-") as scratch:
        work = Path(scratch)
        tables = [(t.resolve(), c) for t, c in zip(args.table, args.target, strict=True)]
        if not args.no_builtin:
            (work / "tables").mkdir()
            tables += builtin_tables(work / "tables")
        lines = []
        for i, (table, target) in enumerate(tables):
            for seed in args.seeds:
                lines.append(compare(table, target, work / f"{i}_{table.stem}_{seed}", args.override, seed))
                print(json.dumps(lines[-1]), flush=True)
    print_table(lines)
    if args.json is not None:
        args.json.write_text(json.dumps({"command": sys.argv, "root": str(ROOT), "tables": lines}, indent=2))


if __name__ == "__main__":
    main()
