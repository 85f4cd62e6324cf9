"""The bad-input matrix: every mistake exits 2 with one line and leaves no new run directory with results.json.

One row per kind of mistake; a new option with its own failure mode adds a row here. ``{name}`` in an
argument is replaced by the path of that prepared input (see ``INPUTS``).
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import dltool_in_process, run_dirs, run_dltool

pytestmark = pytest.mark.xdist_group("test_bad_input")  # its module fixture trains once, on one worker

TINY = ["data.max_samples=200", "callbacks.tensorboard.enabled=false"]
NO_GPU = shutil.which("nvidia-smi") is None

ROWS = [
    pytest.param(["model=resnt"], "model=resnt: no such model option (did you mean resnet?)", id="unknown-choice"),
    pytest.param(["optimizer.learnin_rate=0.1"], "(did you mean learning_rate?)", id="unknown-key"),
    pytest.param(["trainer.batch_size=abc"], "trainer.batch_size=abc: expected an integer", id="wrong-type"),
    pytest.param(["trainer.epochs=-3"], "trainer.epochs=-3: must be >= 0", id="out-of-range"),
    pytest.param(["data=mnist", "data.root={tmp}/nowhere"], "/nowhere: no such folder", id="missing-data-folder"),
    pytest.param(["data=mnist", "data.root={empty}"], "mnist.npz not found in", id="missing-data-file"),
    pytest.param(["data=cifar10", "data.root={empty}"], "cifar-10-python.tar.gz", id="empty-data-folder"),
    pytest.param(
        ["data=synthetic", "data.num_classes=1", "data.input_shape=[4]"], "holds a single class", id="one-class"
    ),
    pytest.param(
        ["model=cnn", "model.blocks=[{filters:4},{filters:4},{filters:4},{filters:4}]"],
        "does not fit the 1x1 feature map",
        id="image-shape-for-the-model",
    ),
    pytest.param(["data=mnist", "data.root={labels}"], "labels 0..9", id="labels-beyond-the-head"),
    pytest.param(
        ["trainer.devices=gpu"],
        "trainer.devices=gpu: no GPU",
        id="gpu-without-one",
        marks=pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU"),
    ),
    pytest.param(["name=../../../escaped"], "name=../../../escaped: a run name is part of one", id="name-with-a-path"),
    pytest.param(["hydra.run.dir={file}/run"], "is a file; choose another directory", id="output-dir-not-writable"),
    pytest.param(
        ["callbacks.custom=[{_target_: nowhere.Callback}]"],
        "callbacks.custom[0]._target_=nowhere.Callback: cannot be imported",
        id="target-not-importable",
    ),
    pytest.param(
        ["allowed_targets=[keras.]", "callbacks.custom=[{_target_: collections.OrderedDict}]"],
        "not allowed by allowed_targets",
        id="target-not-allowed",
    ),
    pytest.param(
        [
            "allowed_targets=[keras.]",
            "callbacks.custom=[{_target_: keras.callbacks.LambdaCallback, "
            "on_train_begin: {_target_: shutil.copyfile, src: {file}, dst: {tmp}/code-ran}}]",
        ],
        "callbacks.custom[0].on_train_begin._target_=shutil.copyfile: not allowed by allowed_targets",
        id="nested-target-not-allowed",
    ),
    pytest.param(
        [
            "allowed_targets=[keras.]",
            "callbacks.custom=[{_target_: keras.src.utils.file_utils.shutil.copyfile, "
            "src: {file}, dst: {tmp}/code-ran}]",
        ],
        "file_utils.shutil.copyfile: leads to shutil.copyfile, which is not defined in keras",
        id="allowed-path-to-another-package",
    ),
    pytest.param(
        ["data=imdb", "data.root={hostile_imdb}"],
        "imdb.npz: x_train.npy: it holds a pickled posix.system; only numpy arrays",
        id="pickled-code-in-imdb",
    ),
    pytest.param(
        ["data=cifar10", "data.root={hostile_cifar}"],
        "cifar-10-python.tar.gz: data_batch_1: it holds a pickled posix.system; only numpy arrays",
        id="pickled-code-in-cifar",
    ),
    pytest.param(
        ["resume={run_with_nested_target}", "allowed_targets=[keras.]", "trainer.epochs=2"],
        "callbacks.custom[0].on_train_begin._target_=shutil.copyfile: not allowed by allowed_targets",
        id="resume-with-allowed-targets",
    ),
    pytest.param(["resume={empty}"], "is not a run directory", id="resume-not-a-run"),
    pytest.param(
        ["resume={run}", "optimizer.learning_rate=0.5"],
        "optimizer.learning_rate cannot change when resuming",
        id="resume-another-experiment",
    ),
    pytest.param(["resume={run}"], "completed its 1 epochs", id="resume-nothing-left"),
    pytest.param(["resume=latest"], "resume=latest: no run directory under", id="resume-latest-without-runs"),
    pytest.param(["resume={other_arch}", "trainer.epochs=2"], "does not fit this model", id="checkpoint-other-arch"),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A completed one-epoch run."""
    root = tmp_path_factory.mktemp("trained")
    result = dltool_in_process("train", "trainer.epochs=1", "model.hidden_units=[8]", *TINY, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return run_dirs(root)[0]


def _empty(tmp: Path, request: pytest.FixtureRequest) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


def _labels(tmp: Path, request: pytest.FixtureRequest) -> Path:
    """An mnist.npz whose labels go up to 11, beyond the 10 outputs of the model."""
    folder = tmp / "mnist"
    folder.mkdir()
    x, y = np.zeros((24, 28, 28), np.uint8), np.arange(24) % 12
    np.savez(folder / "mnist.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    return folder


def _file(tmp: Path, request: pytest.FixtureRequest) -> Path:
    (tmp / "a_file").write_text("not a folder")
    return tmp / "a_file"


def _run(tmp: Path, request: pytest.FixtureRequest) -> Path:
    return shutil.copytree(request.getfixturevalue("trained"), tmp / "run")


def _other_arch(tmp: Path, request: pytest.FixtureRequest) -> Path:
    """The run, its config edited to another architecture: its backup no longer fits."""
    run = _run(tmp, request)
    config_path = run / ".hydra" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["model"]["hidden_units"] = [5, 5]
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return run


def _run_with_nested_target(tmp: Path, request: pytest.FixtureRequest) -> Path:
    """The run, its config edited (as a sender could) to copy a file when its callbacks are built."""
    run = _run(tmp, request)
    config_path = run / ".hydra" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    copy = {"_target_": "shutil.copyfile", "src": str(config_path), "dst": str(marker(tmp))}
    config["callbacks"]["custom"] = [{"_target_": "keras.callbacks.LambdaCallback", "on_train_begin": copy}]
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return run


class Hostile:
    """Unpickled, it would run a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.marker}",)


def marker(tmp: Path) -> Path:
    """The file that hostile data would create: no command may ever create it."""
    return tmp / "code-ran"


def _hostile_imdb(tmp: Path, request: pytest.FixtureRequest) -> Path:
    """An imdb.npz whose reviews (a numpy object array, stored pickled) hold a :class:`Hostile`."""
    folder = tmp / "received_imdb"
    folder.mkdir(exist_ok=True)
    reviews = np.empty(2, dtype=object)
    reviews[:] = [[1, 2, 3], Hostile(marker(tmp))]
    np.savez(folder / "imdb.npz", x_train=reviews, y_train=[0, 1], x_test=reviews, y_test=[1, 0])
    return folder


def _hostile_cifar(tmp: Path, request: pytest.FixtureRequest) -> Path:
    """A cifar-10-python.tar.gz whose first batch is a pickle of a :class:`Hostile` in the real layout."""
    folder = tmp / "received_cifar"
    folder.mkdir(exist_ok=True)
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for batch in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"):
            raw = pickle.dumps({b"data": Hostile(marker(tmp)), b"labels": [0]}, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{batch}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return folder


INPUTS: dict[str, Callable[[Path, pytest.FixtureRequest], Path]] = {
    "empty": _empty,
    "labels": _labels,
    "file": _file,
    "run": _run,
    "other_arch": _other_arch,
    "run_with_nested_target": _run_with_nested_target,
    "hostile_imdb": _hostile_imdb,
    "hostile_cifar": _hostile_cifar,
}


@pytest.mark.parametrize(("args", "expected"), ROWS)
def test_bad_input_exits_2_with_one_line_and_no_new_run(
    args: list[str], expected: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    paths = {"tmp": tmp_path}
    for name, make in INPUTS.items():
        if any(f"{{{name}}}" in a for a in args):
            paths[name] = make(tmp_path, request)
    for name, path in paths.items():
        args = [a.replace(f"{{{name}}}", str(path)) for a in args]
    before = {p: p.read_bytes() for p in tmp_path.rglob("results.json")}

    result = dltool_in_process("train", *args, *TINY, cwd=tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0] and "Traceback" not in result.stderr, lines[0]
    assert {p: p.read_bytes() for p in tmp_path.rglob("results.json")} == before
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").iterdir())
    assert not marker(tmp_path).exists()


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("data", "make", "expected"),
    [
        ("imdb", _hostile_imdb, "imdb.npz: x_train.npy: it holds a pickled posix.system"),
        ("cifar10", _hostile_cifar, "cifar-10-python.tar.gz: data_batch_1: it holds a pickled posix.system"),
    ],
    ids=["imdb", "cifar10"],
)
def test_evaluating_a_received_run_never_runs_code_pickled_in_its_data(
    data: str, make: Callable, expected: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A run directory from someone else whose config reads its data from a hostile archive inside it."""
    run = _run(tmp_path, request)
    data_root = make(tmp_path, request)
    config_path = run / ".hydra" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["data"] = {"name": data, "root": str(data_root)}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    result = dltool_in_process("evaluate", str(run), cwd=tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert not marker(tmp_path).exists()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "command",
    [["evaluate", "{run}"], ["predict", "{run}", "rows.npy"], ["export", "{run}", "format=keras"]],
    ids=["evaluate", "predict", "export"],
)
def test_allowed_targets_on_a_received_run_refuses_its_targets_before_importing_them(
    command: list[str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A received run whose config names a module shipped with it: importing that module would run it."""
    run = _run(tmp_path, request)
    (run / "sentinel.py").write_text(f"open({str(marker(tmp_path))!r}, 'w').close()\ndef f(*args): pass\n")
    config_path = run / ".hydra" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["callbacks"]["custom"] = [
        {"_target_": "keras.callbacks.LambdaCallback", "on_train_begin": {"_target_": "sentinel.f"}}
    ]
    config["callbacks"]["lambda_callback"]["on_train_end"] = {"_target_": "sentinel.f"}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    args = [a.replace("{run}", str(run)) for a in command]
    env = {"PYTHONPATH": os.pathsep.join([str(run), os.environ.get("PYTHONPATH", "")])}

    result = run_dltool(*args, "allowed_targets=[keras.]", cwd=tmp_path, env=env, timeout=180)

    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "._target_=sentinel.f: not allowed by allowed_targets" in lines[0], result.stderr
    assert not marker(tmp_path).exists()
    assert not (run / "export").exists() and not (tmp_path / "predictions.csv").exists()
