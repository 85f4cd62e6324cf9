"""``dltool train``'s Hydra entry point: Hydra composes the config and owns the run directory,
``.hydra/`` and ``train.log``; this validates, trains, and maps failures to exit codes.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dltool.config import builtin_config_dir, register_resolvers, validate
from dltool.errors import ConfigError, DltoolError

log = logging.getLogger("dltool")
_exit_codes: list[int] = []


def _task(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from dltool.console import console, print_config_tree, print_results

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    results_file = run_dir / "results.json"
    try:
        run = validate(cfg)
        print_config_tree(OmegaConf.to_container(cfg, resolve=True), title=f"config → {run_dir}")
        log.info("run directory %s\n%s", run_dir, OmegaConf.to_yaml(cfg, resolve=True))
        from dltool.training.fit import train_run

        results = train_run(run, run_dir)
        log.info("results: %s", {k: v for k, v in results.items() if k.startswith(("status", "test_", "best_"))})
        print_results(results)
        _exit_codes.append(0)
    except DltoolError as err:
        log.error("%s", err)
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        console.print(f"[red]error:[/] {err}", highlight=False)
        _exit_codes.append(err.exit_code)
    except Exception as err:
        log.exception("run failed")
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        from dltool.training.artifacts import write_json

        if not results_file.exists():
            write_json(results_file, {"status": "failed", "error": f"{type(err).__name__}: {err}"})
        console.print(
            f"[red]error:[/] {type(err).__name__}: {err} (full traceback in {run_dir / 'train.log'}; "
            "--debug shows it here)",
            highlight=False,
        )
        _exit_codes.append(1)


def refuse_existing_run_dir(overrides: list[str]) -> None:
    """An explicit ``hydra.run.dir`` must not hold another run: Hydra would overwrite its files."""
    for override in overrides:
        key, _, value = override.lstrip("+").partition("=")
        if key == "hydra.run.dir" and (Path(value) / "results.json").exists():
            raise ConfigError(f"hydra.run.dir={value}: already holds a run (results.json); choose a new directory")


def run_hydra(argv: list[str], config_name: str = "config") -> int:
    """Run Hydra's ``@hydra.main`` on ``argv`` (every Hydra flag works); return the exit code."""
    import hydra

    register_resolvers()
    _exit_codes.clear()
    entry = hydra.main(config_path=str(builtin_config_dir()), config_name=config_name, version_base="1.3")(_task)
    saved = sys.argv
    sys.argv = ["dltool train", *argv]
    try:
        entry()
    finally:
        sys.argv = saved
    return max(_exit_codes, default=0)
