"""``dltool checks``: what a bug report needs, in one screen (or one JSON object).

Versions come from the installed packages' metadata (no heavy import); only the backend whose devices
are listed is imported. Every probe reports its own failure instead of stopping the report.

Example:
    >>> report = collect("tensorflow", Path("outputs"))  # doctest: +SKIP
    >>> report["versions"]["keras"], report["devices"]["seen"]  # doctest: +SKIP
    ('3.15.0', ['CPU:0'])
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from dltool import __version__
from dltool.errors import ConfigError

BACKENDS = ("tensorflow", "jax", "torch")

#: Distributions that provide a package under another name, first match wins.
DISTRIBUTIONS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tf-nightly"),
    "jax": ("jax",),
    "torch": ("torch",),
}

#: Drivers a feature needs, however installed: sweep.storage=postgresql://... takes psycopg 3 (dltool[postgres])
#: or psycopg2.
DRIVERS = {"postgres": ("psycopg2", "psycopg2-binary", "psycopg")}


def collect(backend: str, root: Path) -> dict[str, Any]:
    """The report: versions, the ``backend``'s devices, the Graphviz renderer, extras, free disk under ``root``."""
    if backend not in BACKENDS:
        raise ConfigError(f"--backend={backend}: not a Keras backend; choose {', '.join(BACKENDS)}")
    from dltool.plots import graphviz_renderer

    return {
        "versions": versions(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "devices": devices(backend),
        "graphviz": graphviz_renderer(),
        "extras": extras(),
        "drivers": {name: _version(*dists) for name, dists in DRIVERS.items()},
        "disk": free_disk(root),
    }


def versions() -> dict[str, str | None]:
    """Python, dltool, Keras and the backends' versions (None: not installed)."""
    return {
        "python": platform.python_version(),
        "dltool": __version__,
        "keras": _version("keras"),
        **{name: _version(*dists) for name, dists in DISTRIBUTIONS.items()},
    }


def devices(backend: str) -> dict[str, Any]:
    """The devices ``backend`` sees (``CPU:0``, ``GPU:0 <name>``), or why it could not list them."""
    found: dict[str, Any] = {"backend": backend, "seen": [], "error": None}
    if _version(*DISTRIBUTIONS[backend]) is None:
        found["error"] = f"{backend} is not installed"
        return found
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up lines would mix into the report
    try:
        found["seen"] = _LISTERS[backend]()
    except Exception as err:  # a broken CUDA set-up is what the report is for: say it, do not stop
        found["error"] = f"{type(err).__name__}: {err}".splitlines()[0]
    return found


def _tensorflow_devices() -> list[str]:
    import tensorflow as tf

    seen = []
    for device in tf.config.list_physical_devices():
        name = device.name.removeprefix("/physical_device:")
        if device.device_type == "GPU":
            details = tf.config.experimental.get_device_details(device)
            name += f" {details.get('device_name', '')} (compute capability {details.get('compute_capability')})"
        seen.append(name)
    return seen


def _jax_devices() -> list[str]:
    import jax

    return [f"{d.platform.upper()}:{d.id} {d.device_kind}" for d in jax.devices()]


def _torch_devices() -> list[str]:
    import torch

    gpus = [f"GPU:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())]
    return ["CPU:0", *gpus]


_LISTERS = {"tensorflow": _tensorflow_devices, "jax": _jax_devices, "torch": _torch_devices}


def extras() -> dict[str, dict[str, str | None]]:
    """dltool's optional extras (pyproject's optional-dependencies): each package's installed version or None."""
    from packaging.requirements import Requirement

    try:
        requirements = [Requirement(line) for line in metadata.requires("dltool") or []]
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return {}
    found: dict[str, dict[str, str | None]] = {}
    for requirement in requirements:
        extra = _extra(requirement)
        if extra is not None:
            found.setdefault(extra, {})[requirement.name] = _version(requirement.name)
    return found


def _extra(requirement: Any) -> str | None:
    """The extra a requirement belongs to (``; extra == "onnx"``), None for a plain dependency."""
    marker = requirement.marker
    if marker is None:
        return None
    for extra in metadata.metadata("dltool").get_all("Provides-Extra") or []:
        if marker.evaluate({"extra": extra}) and not marker.evaluate({"extra": ""}):
            return extra
    return None


def free_disk(root: Path) -> dict[str, Any]:
    """Free and total bytes of the file system ``root`` is (or will be) on."""
    existing = root.expanduser().absolute()
    while not existing.exists():
        existing = existing.parent
    usage = shutil.disk_usage(existing)
    return {"path": str(root.expanduser().absolute()), "free_bytes": usage.free, "total_bytes": usage.total}


def _version(*distributions: str) -> str | None:
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def report_lines(report: dict[str, Any]) -> list[str]:
    """The report as aligned ``name  value`` lines, to paste into a bug report."""
    shown = {name: version or "not installed" for name, version in report["versions"].items()}
    seen = report["devices"]
    device_line = ", ".join(seen["seen"]) if seen["error"] is None else f"unknown ({seen['error']})"
    extras = []
    for extra, packages in report["extras"].items():
        missing = [name for name, version in packages.items() if version is None]
        extras.append(f"{extra} " + (f"missing {', '.join(missing)}" if missing else "installed"))
    drivers = ", ".join(f"{name} {version or 'not installed'}" for name, version in report["drivers"].items())
    disk = report["disk"]
    rows = [
        *shown.items(),
        ("platform", report["platform"]),
        ("executable", report["executable"]),
        (f"devices ({seen['backend']})", device_line),
        ("graphviz", report["graphviz"] or "none: model.png is written as model.dot"),
        ("extras", "; ".join(extras) or "unknown (dltool is not installed)"),
        ("drivers", drivers),
        ("free disk", f"{_gib(disk['free_bytes'])} of {_gib(disk['total_bytes'])} at {disk['path']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return [f"{name.ljust(width)}  {value}" for name, value in rows]


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"
