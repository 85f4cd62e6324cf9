"""docs/cookbook.md, kept true: every command of the page runs, shrunk, and its stated outcome is checked.

Format of the page (what this file parses)
------------------------------------------
``## N. Title`` opens the section of row N of the course's technique list (``ROWS`` below).
In a section:

- a fenced block whose info string is ``bash cookbook`` holds the commands, one ``dltool ...`` per
  line (``\\`` continues a line, ``# ...`` is a comment; a trailing ``# exit N`` is the exit code
  the command must end with, 0 otherwise). ``$RUN`` is replaced by the newest run directory the
  section's commands have made so far, ``$RUNS`` by every run directory the last command that made
  runs made (e.g. ``dltool evaluate $RUNS`` after ``dltool train -m``). ``$IMAGE_FOLDER`` is replaced
  by a generated Cats-vs-Dogs-like folder (``image_folder``: ``cats/`` and ``dogs/`` sub-folders of
  small PNG and JPEG images, and one unreadable ``cats/broken.jpg``), ``$TEXT_FOLDER`` by a generated
  aclImdb-like one (``text_folder``: ``pos/`` and ``neg/`` sub-folders of short ``.txt`` reviews),
  ``$ARRAYS_FILE`` by a generated ``.npz`` of two inputs and three targets (``arrays_file``),
  ``$TABLE_FILE`` by a generated CSV of numeric and text columns and two targets (``table_file``),
  ``$CHARGES_CSV``, ``$MESSAGES_CSV`` and ``$PHOTOS_CSV`` by generated tables (``charges_table``: a
  medical-insurance-like table with a text column; ``messages_table``: SMS-spam-like messages;
  ``photos_table``: image files' paths and a category); a reader passes their own folders and files there.
- a fenced block whose info string is ``yaml file=PATH`` is a file the reader writes: it is written
  to PATH, relative to the section's working directory, before the section's commands run.
- an optional fenced block whose info string is ``expect`` holds checks, one per line (``#`` starts
  a comment):

  - ``files: GLOB...``: every run of the section holds a match of each glob (a glob starting with
    ``outputs/`` or ``./`` is matched from the section's working directory instead, e.g. a sweep's
    files, ``./mlruns/mlflow.db``);
  - ``output: TEXT``: the printed output of the section's commands contains TEXT;
  - ``[OVERRIDE] KEY OP VALUE``: ``results.json``'s KEY (dotted: ``params.total``; a number indexes
    a list: ``data.class_names.0``) compared with a number or a word (OP one of ``== != < <= > >=``),
    in the runs whose ``.hydra/overrides.yaml`` holds OVERRIDE as written there
    (``[model.activation=relu]``), or in every run without ``[...]``; a selector that picks no run fails;
  - ``full: CHECK``: CHECK holds at the settings written in the page only (accuracies after the
    real number of epochs): checked when ``DLTOOL_COOKBOOK=full``; otherwise only the presence of
    the results key is checked;
  - ``shrink: KEY=VALUE...``: this section's shrink overrides, replacing those of ``SHRINK`` key by key.

  Every run must end ``completed`` unless a check names its ``status``.

How the commands run
--------------------
In-process (Typer's runner on ``dltool.cli.app``: no TensorFlow import per command), each section in
its own temporary working directory, so ``outputs/`` holds that section's runs only. ``dltool train``
and ``dltool sweep`` commands get the ``SHRINK`` overrides, which replace the command's own values of
those keys (sweeps also ``SWEEP_SHRINK``; never a resume, whose config is the saved one: a resume
command's ``trainer.epochs`` must exceed the shrunk 2); other commands run as written. With
``DLTOOL_COOKBOOK=full`` every command runs as written, which is how the numbers in the page were
measured. A row with no section is listed in ``NOT_YET``: a new section or a row left out fails
``test_every_row_is_covered_or_listed`` until that list says so.
"""

from __future__ import annotations

import json
import logging
import logging.config
import operator
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import close_file_handlers

PAGE = Path(__file__).resolve().parents[1] / "docs" / "cookbook.md"
FULL = os.environ.get("DLTOOL_COOKBOOK") == "full"
SHRINK = {"trainer.epochs": "2", "data.max_samples": "64"}
SWEEP_SHRINK = {"sweep.n_trials": "2"}

# The course's techniques: the page's section numbers are these rows.
ROWS = {
    1: "Sequential MLP classifier (dense stack, softmax head)",
    2: "Perceptron (no hidden layer) on two Gaussian blobs; confusion matrix",
    3: "XOR needs a hidden layer: perceptron fails, MLP succeeds",
    4: "Flower (petals) data set: depth and width study with an 80/20 split, decision boundaries",
    5: "Function approximation with ReLUs (x³+x²−x−1), linear regression by a network",
    6: "Activations: sigmoid, tanh, ReLU, LeakyReLU(α), ELU, SELU, GELU, softmax",
    7: "Output layer per task: softmax, sigmoid (binary/multi-label), linear (regression); MSE, MAE, cross-entropy",
    8: "Optimizers: SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam",
    9: "Learning rate on a logarithmic grid; batch size in powers of two; number and size of layers searched",
    10: "Vanishing gradients: sigmoid vs ReLU in a deep net; batch normalization",
    11: "Exploding gradients: gradient clipping",
    12: "Regularization: L1, L2, dropout, alpha dropout with SELU, early stopping",
    13: "Data augmentation: rotation, shifts, shear, zoom, brightness, flips",
    14: "CNN: conv + pooling stacks on MNIST and CIFAR-10, parameter counts as in the seeds' tables",
    15: "LeNet-5, AlexNet, VGG, GoogLeNet/inception modules, ResNet (residual connections)",
    16: "Depthwise separable convolutions; Xception",
    17: "Multi-input model (text + question → answer)",
    18: "Multi-output model (age, income, gender) with per-output losses and loss weights",
    19: "Shared layers (siamese LSTM on two sentences)",
    20: "A model used as a layer (dual camera with one shared Xception base)",
    21: "Transfer learning: frozen InceptionV3 base + new head; fine-tuning top layers with a low LR; "
    "feature extraction",
    22: "RNNs: SimpleRNN, LSTM, GRU; deep (stacked) RNN; seq-to-vector, seq-to-seq; IMDB sentiment",
    23: "Autoencoder: compress and reconstruct",
    24: "GAN: a generator and a discriminator trained against each other, sample images per epoch",
    25: "Callbacks: ModelCheckpoint (best only), EarlyStopping (min_delta, patience, restore_best_weights, "
    "start_from_epoch), ReduceLROnPlateau, LearningRateScheduler, BackupAndRestore, CSVLogger, TerminateOnNaN, "
    "LambdaCallback, RemoteMonitor, SwapEMAWeights, ProgbarLogger",
    26: "A custom callback: log every layer's activations on a validation sample each epoch",
    27: "TensorBoard: scalars, graph, histograms of weights and activations, embeddings projector",
    28: "plot_model diagrams, with shapes",
    29: "Hyperparameter search: grid, random, Bayesian, Hyperband",
    30: "Ensembling several models by weighted average",
    31: "Image folders loaded from disk (resize, color mode, batch, shuffle): Cats vs Dogs",
    32: "Memory: smaller batch, 16-bit floats, several devices",
    33: "Training history plot; evaluation on the test set",
    34: "Saving and loading: checkpoints, SavedModel",
    35: "Experiment tracking beyond TensorBoard (MLflow)",
    36: "Tables of typed columns (numbers, categories, free text), CSV or Parquet, against gradient boosting",
}

# Rows with no section yet: what dltool does not do yet. Adding a section means removing its row here.
NOT_YET: dict[int, str] = {}

# Covered rows whose section shows only part of the row: said in the coverage line, never hidden.
PARTIAL = {
    7: "multi-label targets",
    22: "the IMDB data set itself (data=imdb needs imdb.npz; generated tokens and texts stand in)",
    32: "several devices (mirrored and multi_worker need GPUs or machines)",
}


@dataclass
class Command:
    argv: list[str]
    exit_code: int = 0


@dataclass
class Section:
    row: int
    title: str
    commands: list[Command] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    slow: bool = False
    files: dict[str, str] = field(default_factory=dict)  # the page's ``yaml file=PATH`` blocks, by PATH


_HEADING = re.compile(r"^## (\d+)\. (.+)$")
_FENCE = re.compile(r"^```(.*)$")
_EXIT = re.compile(r"#\s*exit\s+(\d+)\s*$")


def parse_page(text: str) -> dict[int, Section]:
    """The page's sections by row number, with their commands and checks.

    >>> page = "## 3. XOR\\n```bash cookbook\\ndltool train -m a=1,2 \\\\\\n  b=3  # why\\n```\\n"
    >>> page += "```expect\\nfiles: x.png  # the plot\\n```\\n"
    >>> section = parse_page(page)[3]
    >>> section.commands[0].argv, section.checks
    (['train', '-m', 'a=1,2', 'b=3'], ['files: x.png'])
    """
    sections: dict[int, Section] = {}
    current: Section | None = None
    block: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if block is not None:
            if line.startswith("```"):
                _close_block(current, block, lines)
                block, lines = None, []
            else:
                lines.append(line)
            continue
        if match := _HEADING.match(line):
            row = int(match.group(1))
            if row in sections:
                raise ValueError(f"docs/cookbook.md: two sections for row {row}")
            current = sections[row] = Section(row, match.group(2).strip())
        elif match := _FENCE.match(line):
            block = match.group(1).strip()
    return sections


def _close_block(section: Section | None, info: str, lines: list[str]) -> None:
    words = info.split()
    if words[:2] == ["bash", "cookbook"]:
        if section is None:
            raise ValueError("docs/cookbook.md: a cookbook block before the first section")
        section.slow = section.slow or "slow" in words[2:]
        for command in _join_continued(lines):
            exit_match = _EXIT.search(command)
            argv = shlex.split(command, comments=True)
            if not argv:
                continue
            if argv[0] != "dltool":
                raise ValueError(f"docs/cookbook.md, row {section.row}: not a dltool command: {command}")
            section.commands.append(Command(argv[1:], int(exit_match.group(1)) if exit_match else 0))
    elif words[:1] == ["yaml"] and words[1:2] and words[1].startswith("file=") and section is not None:
        section.files[words[1].removeprefix("file=")] = "\n".join(lines) + "\n"
    elif words[:1] == ["expect"] and section is not None:
        section.checks += [c for line in lines if (c := line.split(" #")[0].strip()) and not c.startswith("#")]


def _join_continued(lines: list[str]) -> list[str]:
    """Lines with their ``\\`` continuations joined."""
    joined: list[str] = []
    pending = ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
        else:
            joined.append(pending + line)
            pending = ""
    return [*joined, pending] if pending else joined


def shrink(argv: list[str], overrides: dict[str, str]) -> list[str]:
    """``argv`` with the shrink overrides replacing or joining its own (train and sweep only, never a resume).

    >>> shrink(["train", "-m", "model=mlp", "trainer.epochs=50"], {"trainer.epochs": "2", "data.max_samples": "64"})
    ['train', '-m', 'model=mlp', 'trainer.epochs=2', 'data.max_samples=64']
    >>> shrink(["sweep", "sweep=layers", "sweep.n_trials=10"], {"trainer.epochs": "2"})
    ['sweep', 'sweep=layers', 'trainer.epochs=2', 'sweep.n_trials=2']
    >>> shrink(["evaluate", "outputs/x"], {"trainer.epochs": "2"})
    ['evaluate', 'outputs/x']
    """
    if argv[0] not in ("train", "sweep") or any(a.startswith("resume=") for a in argv):
        return argv
    if argv[0] == "sweep":
        overrides = {**overrides, **SWEEP_SHRINK}
    kept = [a for a in argv[1:] if a.lstrip("+~").partition("=")[0] not in overrides]
    return [argv[0], *kept, *(f"{key}={value}" for key, value in overrides.items())]


def _run_dirs(root: Path) -> list[Path]:
    """Run directories (holding .hydra/) under ``root/outputs``, in the order they were made."""
    return sorted((p.parent for p in (root / "outputs").rglob(".hydra")), key=lambda p: (p / ".hydra").stat().st_mtime)


_OPS = {"==": operator.eq, "!=": operator.ne, "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_SELECTOR = re.compile(r"^(?:\[(.+?)\]\s+)?(.*)$")
_CHECK = re.compile(r"^(?P<key>[\w.]+)\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>\S+)$")


def _value(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _lookup(results: dict, key: str) -> object:
    """``results``' value at the dotted ``key``; a number indexes a list.

    >>> _lookup({"data": {"class_names": ["cats", "dogs"]}}, "data.class_names.1")
    'dogs'
    """
    node: object = results
    for part in key.split("."):
        if isinstance(node, list) and part.isdigit():
            node = node[int(part)] if int(part) < len(node) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
    return node


def _selected(runs: list[Path], selector: str | None) -> list[Path]:
    assert runs, "no run directory"
    if selector is None:
        return runs
    picked = [run for run in runs if f"- {selector}" in (run / ".hydra" / "overrides.yaml").read_text().splitlines()]
    assert picked, f"[{selector}] picks no run; runs: {[str(r) for r in runs]}"
    return picked


def check(line: str, workdir: Path, runs: list[Path], output: str) -> str | None:
    """Check one expect line; return the results key it constrains to a status, if any."""
    full_only = line.startswith("full:")
    line = line.removeprefix("full:").strip()
    if line.startswith("shrink:"):
        return None
    if line.startswith("output:"):
        text = line.removeprefix("output:").strip()
        assert text in output, f"the output does not contain {text!r}"
        return None
    selector, line = _SELECTOR.match(line).groups()
    if line.startswith("files:"):
        for pattern in line.removeprefix("files:").split():
            for base in [workdir] if pattern.startswith(("outputs/", "./")) else _selected(runs, selector):
                assert list(base.glob(pattern)), f"{base}: no {pattern}"
        return None
    match = _CHECK.match(line)
    assert match, f"cannot parse the expect line {line!r}"
    key, op, wanted = match["key"], _OPS[match["op"]], _value(match["value"])
    for run in _selected(runs, selector):
        results = json.loads((run / "results.json").read_text())
        found = _lookup(results, key)
        assert found is not None, f"{run}/results.json has no {key}"
        if FULL or not full_only:
            assert op(_value(str(found)) if isinstance(wanted, float) else str(found), wanted), (
                f"{run}: {key} = {found}, expected {match['op']} {match['value']}"
            )
    return key


def image_folder(root: Path, per_class: int = 24, size: int = 40) -> Path:
    """A Cats-vs-Dogs-like folder under ``root``: ``cats/`` (bright top half) and ``dogs/`` (bright
    bottom half) with noise, PNGs and JPEGs of ``size`` pixels, and one file that is no image."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = root / "image_folder"
    for label, name in enumerate(("cats", "dogs")):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.uniform(0, 120, (size, size, 3))
            half = slice(size // 2, None) if label else slice(None, size // 2)
            pixels[half] += 120
            suffix = ".png" if i % 2 else ".jpg"
            Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(folder / name / f"{name}_{i:03d}{suffix}")
    (folder / "cats" / "broken.jpg").write_bytes(b"not an image")
    return folder


def text_folder(root: Path, per_class: int = 40, length: int = 12) -> Path:
    """An aclImdb-like folder under ``root``: ``pos/`` and ``neg/`` ``.txt`` reviews of ``length`` words,
    neutral words with a few of the class's own (``great``, ``awful``...)."""
    import numpy as np

    rng = np.random.default_rng(0)
    neutral = ["the", "a", "film", "movie", "plot", "actor", "scene", "story", "it", "was", "and", "this", "one", "of"]
    words = {
        "pos": ["great", "good", "wonderful", "loved", "superb"],
        "neg": ["awful", "bad", "boring", "hated", "poor"],
    }
    folder = root / "text_folder"
    for name, own in words.items():
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            text = rng.choice(neutral, length).tolist() + rng.choice(own, 3).tolist()
            (folder / name / f"{i:03d}.txt").write_text(" ".join(rng.permutation(text)) + ".\n")
    return folder


def arrays_file(root: Path, n: int = 1000) -> Path:
    """An .npz of named arrays under ``root``: inputs ``x_signal`` (n, 16) and ``x_meta`` (n, 3), targets
    ``y_kind`` (3 classes: needs both inputs), ``y_alarm`` (0/1) and ``y_level`` (a float)."""
    import numpy as np

    rng = np.random.default_rng(0)
    signal, meta = rng.normal(size=(n, 16)).astype("float32"), rng.random((n, 3)).astype("float32")
    path = root / "sensors.npz"
    np.savez(
        path,
        x_signal=signal,
        x_meta=meta,
        y_kind=np.argmax(signal[:, :3] + 2 * meta, axis=1),
        y_alarm=(signal[:, 3] > 0).astype(np.int64),
        y_level=2 * signal[:, 4] + meta[:, 0] + rng.normal(0, 0.1, n),
    )
    return path


def table_file(root: Path, n: int = 600, seed: int = 0, name: str = "tickets.csv") -> Path:
    """A CSV of support tickets under ``root``: numeric ``size`` and ``urgency``, categorical ``team`` and
    ``channel``; targets ``priority`` (low, mid, high: from the urgency) and ``department`` (sales, tech:
    from the team and the channel)."""
    import csv

    import numpy as np

    rng = np.random.default_rng(seed)
    path = root / name
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["size", "urgency", "team", "channel", "priority", "department"])
        for _ in range(n):
            urgency, team, channel = rng.random(), rng.choice(["a", "b", "c"]), rng.choice(["email", "phone"])
            priority = "low" if urgency < 0.33 else "mid" if urgency < 0.66 else "high"
            department = "tech" if (team == "a") != (channel == "email") else "sales"
            writer.writerow([f"{rng.normal(10, 3):.3f}", f"{urgency:.3f}", team, channel, priority, department])
    return path


def charges_table(root: Path, rows: int = 1338) -> Path:
    """A medical-insurance-like CSV: age, sex, bmi, children, smoker, region and a free-text ``note``; ``charges``
    jump for smokers, and again for smokers of bmi over 30."""
    import numpy as np

    rng = np.random.default_rng(0)
    words = ["visit", "check", "up", "fall", "blood", "test", "clinic", "doctor", "after", "this", "year", "a"]
    lines = ["age,sex,bmi,children,smoker,region,note,charges"]
    for i in range(rows):
        age, bmi, children, smoker = int(rng.integers(18, 65)), rng.normal(30.7, 6.1), i % 4, rng.random() < 0.2
        charges = 250 * age + 500 * children + rng.gamma(2.0, 1500.0) + smoker * (15000 + 20000 * (bmi > 30))
        region = ("northeast", "northwest", "southeast", "southwest")[i % 4]
        note = " ".join(rng.choice(words, 5))  # free text that says nothing of the charges
        lines.append(f"{age},{('female', 'male')[i % 2]},{bmi:.2f},{children},{'yes' if smoker else 'no'},{region},")
        lines[-1] += f"{note},{charges:.2f}"
    path = root / "charges.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def messages_table(root: Path, rows: int = 400) -> Path:
    """An SMS-spam-like CSV: a free-text ``message`` (a few words of its class among common ones) and ``label``."""
    import numpy as np

    rng = np.random.default_rng(0)
    own = {"spam": ["free", "win", "cash", "prize", "claim"], "ham": ["lunch", "later", "home", "sorry", "meeting"]}
    common = [f"w{i}" for i in range(60)]
    lines = ["message,label"]
    for i in range(rows):
        label = "spam" if i % 4 == 0 else "ham"
        words = rng.choice(common, 6).tolist() + rng.choice(own[label], 2).tolist()
        lines.append(f"{' '.join(rng.permutation(words))},{label}")
    path = root / "messages.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def photos_table(root: Path, rows: int = 160, name: str = "photos.csv") -> Path:
    """A CSV of an ``image`` column ``photo`` (``photos/<i>.png`` or ``.jpg`` beside it, 24x24 noise, bright or
    dark), a category ``room`` (kitchen, hall, cellar) and the class ``light`` (bright or dark: the pixels')."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(len(name))
    (root / "photos").mkdir(parents=True, exist_ok=True)
    lines = ["photo,room,light"]
    for i in range(rows):
        bright = bool(rng.integers(0, 2))
        pixels = rng.uniform(130, 255, (24, 24, 3)) if bright else rng.uniform(0, 125, (24, 24, 3))
        photo = f"photos/{Path(name).stem}_{i:03d}{'.png' if i % 2 else '.jpg'}"
        Image.fromarray(pixels.astype(np.uint8)).save(root / photo)
        lines.append(f"{photo},{rng.choice(['kitchen', 'hall', 'cellar'])},{'bright' if bright else 'dark'}")
    path = root / name
    path.write_text("\n".join(lines) + "\n")
    return path


PLACEHOLDERS = {
    "$IMAGE_FOLDER": image_folder,
    "$TEXT_FOLDER": text_folder,
    "$ARRAYS_FILE": arrays_file,
    "$TABLE_FILE": table_file,
    "$CHARGES_CSV": charges_table,
    "$MESSAGES_CSV": messages_table,
    "$PHOTOS_CSV": photos_table,
}


def run_section(section: Section, workdir: Path) -> str:
    """Run the section's commands in ``workdir`` and check its expectations; return the output."""
    from typer.testing import CliRunner

    from dltool.cli import app

    overrides = dict(SHRINK)
    for line in section.checks:
        if line.startswith("shrink:"):
            overrides.update(o.split("=", 1) for o in line.removeprefix("shrink:").split())
    output, last_runs, seen = "", [], set()
    for relative, text in section.files.items():
        (workdir / relative).parent.mkdir(parents=True, exist_ok=True)
        (workdir / relative).write_text(text)
    used = {arg for command in section.commands for arg in command.argv}
    folders = {name: str(make(workdir)) for name, make in PLACEHOLDERS.items() if any(name in arg for arg in used)}
    for command in section.commands:
        argv = []
        for arg in command.argv:
            for name, folder in folders.items():
                arg = arg.replace(name, folder)
            if arg == "$RUNS":
                argv += [str(r) for r in last_runs]
            else:
                argv.append(arg.replace("$RUN", str(last_runs[-1]) if last_runs else "$RUN"))
        argv = argv if FULL else shrink(argv, overrides)
        result = CliRunner().invoke(app, argv)
        output += result.output
        if result.exception and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"dltool {shlex.join(argv)} raised") from result.exception
        assert result.exit_code == command.exit_code, (
            f"dltool {shlex.join(argv)}: exit {result.exit_code}, expected {command.exit_code}\n{result.output[-3000:]}"
        )
        new = [run for run in _run_dirs(workdir) if run not in seen]
        if new:
            seen.update(new)
            last_runs = new
    runs = [run for run in _run_dirs(workdir) if (run / "results.json").exists()]
    status_checked = {check(line, workdir, runs, output) for line in section.checks} - {None}
    if "status" not in status_checked:
        for run in runs:
            status = json.loads((run / "results.json").read_text())["status"]
            assert status == "completed", f"{run}: status {status}"
    return output


def coverage_line(sections: dict[int, Section]) -> str:
    """``cookbook: 35/35 rows covered; not covered: none; partly: 7 without ...`` (partial rows named)."""
    covered = sorted(set(sections) & set(ROWS))
    missing = [row for row in ROWS if row not in sections]
    partial = "; ".join(f"{row} without {what}" for row, what in PARTIAL.items() if row in sections)
    return (
        f"cookbook: {len(covered)}/{len(ROWS)} rows covered; not covered: {', '.join(map(str, missing)) or 'none'}"
        + (f"; partly: {partial}" if partial else "")
    )


SECTIONS = parse_page(PAGE.read_text(encoding="utf-8"))


def test_every_row_is_covered_or_listed() -> None:
    assert set(SECTIONS) <= set(ROWS), f"sections for no row: {sorted(set(SECTIONS) - set(ROWS))}"
    assert set(ROWS) - set(SECTIONS) == set(NOT_YET), (
        f"rows without a section: {sorted(set(ROWS) - set(SECTIONS))}; NOT_YET lists {sorted(NOT_YET)}"
    )
    assert set(PARTIAL) <= set(SECTIONS)
    for section in SECTIONS.values():
        assert section.commands, f"section {section.row} has no `bash cookbook` command"
        for line in section.checks:
            body = _SELECTOR.match(line.removeprefix("full:").strip()).group(2)
            assert body.startswith(("files:", "output:", "shrink:")) or _CHECK.match(body), f"row {section.row}: {line}"
    print(coverage_line(SECTIONS))


def _param(section: Section) -> object:
    return pytest.param(section, id=f"row{section.row}", marks=[pytest.mark.slow] if section.slow else [])


@pytest.mark.e2e
@pytest.mark.parametrize("section", [_param(s) for s in SECTIONS.values()])
def test_cookbook_section(section: Section, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "160")
    # Hydra configures each run's logging with dictConfig, which closes every live handler, pytest's own
    # capture handlers included ("I/O operation on closed file" in the tests that follow): in-process runs
    # close only the previous runs' train.log handlers.
    monkeypatch.setattr(logging.config, "_clearExistingHandlers", close_file_handlers)
    run_section(section, tmp_path)
