"""``dltool checks``: the bug-report lines and their JSON, from a real subprocess."""

from __future__ import annotations

import importlib.util
import json
import platform
import shutil
import sys
from importlib import metadata
from pathlib import Path

import pytest

import dltool
from dltool.plots import graphviz_renderer
from tests.conftest import run_dltool


@pytest.mark.e2e
def test_checks_json_holds_the_real_versions_devices_and_disk(tmp_path: Path) -> None:
    result = run_dltool("checks", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["versions"]["python"] == platform.python_version() == sys.version.split()[0]
    assert report["versions"]["dltool"] == dltool.__version__
    assert report["versions"]["keras"] == metadata.version("keras")
    assert report["versions"]["jax"] == metadata.version("jax")
    assert report["devices"] == {"backend": "tensorflow", "seen": report["devices"]["seen"], "error": None}
    assert "CPU:0" in report["devices"]["seen"]
    assert report["graphviz"] == graphviz_renderer()
    assert report["extras"]["onnx"] == {
        "tf2onnx": metadata.version("tf2onnx"),
        "onnxruntime": metadata.version("onnxruntime"),
    }
    assert set(report["extras"]) >= {"cpu", "gpu", "jax", "onnx", "mlflow", "parallel", "slurm", "ray"}
    assert "postgres" in report["drivers"]
    assert report["disk"]["path"] == str(tmp_path / "outputs")
    assert 0 < report["disk"]["free_bytes"] <= report["disk"]["total_bytes"] == shutil.disk_usage(tmp_path).total


def test_checks_lines_name_each_probe_and_a_bad_backend_is_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dltool.cli import app

    result = CliRunner().invoke(app, ["checks", "--backend", "torch", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = [line.split("  ")[0].strip() for line in result.output.splitlines()]
    assert names == [
        "python", "dltool", "keras", "tensorflow", "jax", "torch", "platform", "executable", "devices (torch)",
        "graphviz", "extras", "drivers", "free disk",
    ]  # fmt: skip
    (devices,) = [line for line in result.output.splitlines() if line.startswith("devices (torch)")]
    installed = importlib.util.find_spec("torch") is not None
    assert devices.endswith("CPU:0") if installed else devices.endswith("unknown (torch is not installed)")
    result = CliRunner().invoke(app, ["checks", "--backend", "theano"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --backend=theano: not a Keras backend; choose tensorflow, jax, torch"
    ]
