"""``dltool sweep`` end to end: real trials (``dltool train`` processes on 300 digits, 2-3 epochs).

What it checks: a 6-trial sweep whose best_config.yaml re-runs to the best trial's accuracy;
a sweep killed with SIGKILL (alone, or with its trials) mid-trial and resumed; two processes sharing one study.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest

from tests.conftest import DLTOOL, dltool_in_process, results, run_dltool

pytestmark = pytest.mark.e2e
optuna.logging.set_verbosity(optuna.logging.WARNING)
QUICK = ["sweep=quick", "trainer.epochs=2"]
EPOCHS = 10  # of the killed sweep's trials: an orphaned trial would outlive its sweep for seconds


def sweep_dirs(root: Path) -> list[Path]:
    return sorted((root / "outputs" / "sweeps").glob("*/*"))


def rows(sweep_dir: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((sweep_dir / "trials.csv").open()))


def test_six_trials_plots_and_a_best_config_that_reruns(tmp_path: Path) -> None:
    done = run_dltool("sweep", "sweep=quick", "sweep.n_trials=6", "sweep.n_jobs=2", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (sweep_dir,) = sweep_dirs(tmp_path)
    table = rows(sweep_dir)
    assert [r["state"] for r in table] == ["complete"] * 6
    for plot in ("optimization_history", "param_importances", "parallel_coordinate", "slice", "contour"):
        assert (sweep_dir / f"{plot}.png").stat().st_size > 1000
    best = max(table, key=lambda r: float(r["best_val_accuracy"]))
    assert f"best: trial {best['number']}" in done.stdout
    for row in table:  # 12 significant digits at most, as the trial's override wrote it
        assert row["optimizer.learning_rate"] == repr(float(f"{float(row['optimizer.learning_rate']):.12g}"))
    # the closing table: every trial, best first, under whole headers
    closing = done.stdout[done.stdout.index("best first") :].splitlines()
    assert any(line.startswith("┃ trial ") and "┃ learning_rate ┃" in line for line in closing), done.stdout
    ranked = [line.split("│")[1].strip() for line in closing if line.startswith("│") and line.split("│")[1].strip()]
    by_accuracy = sorted(table, key=lambda r: -float(r["best_val_accuracy"]))
    assert [float(table[int(n)]["best_val_accuracy"]) for n in ranked] == [
        float(r["best_val_accuracy"]) for r in by_accuracy
    ]

    rerun = dltool_in_process("train", "--config-path", str(sweep_dir), "--config-name", "best_config", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    (run_dir,) = [p for p in (tmp_path / "outputs").glob("20*/*") if (p / "results.json").exists()]
    again = results(run_dir)
    assert abs(again["test_accuracy"] - float(best["test_accuracy"])) <= 0.03  # same config, same seed
    assert again["params"]["total"] == int(best["params_total"])


def epochs(run_dir: Path) -> list[int]:
    with open(run_dir / "metrics.csv") as f:
        return [int(r["epoch"]) for r in csv.DictReader(f)]


def trial_processes(sweep_dir: Path) -> list[int]:
    """Pids of the processes (trials) whose command line names ``sweep_dir``."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(sweep_dir).encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue  # ended meanwhile
    return pids


def no_trial_process_within(sweep_dir: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while trial_processes(sweep_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not trial_processes(sweep_dir)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds trial processes in /proc")
@pytest.mark.parametrize("kill", ["group", "sweep alone"])
def test_killed_sweep_resumes_to_exactly_n_trials(tmp_path: Path, kill: str) -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        [*DLTOOL, "sweep", "sweep=quick", f"trainer.epochs={EPOCHS}", "sweep.n_trials=2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, to kill with its trials as a crash would
    )
    deadline = time.monotonic() + 300
    # trials run one at a time: once trial 1 has backed up its first epoch, trial 0 is complete; kill then,
    # mid-trial (the group: trial processes too; alone: the trial is orphaned and must die by itself)
    while time.monotonic() < deadline and not list(
        tmp_path.glob("outputs/sweeps/*/*/trials/1/checkpoints/backup/state.json")
    ):
        time.sleep(0.01)
    (os.killpg if kill == "group" else os.kill)(process.pid, signal.SIGKILL)
    process.wait()
    (sweep_dir,) = sweep_dirs(tmp_path)
    # at once (an orphan would go on for seconds: its EPOCHS - 1 epochs, the test evaluation, the plots)
    assert no_trial_process_within(sweep_dir, 2), f"trial processes outlived the sweep: {trial_processes(sweep_dir)}"
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{sweep_dir / 'study.db'}")
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert [t.number for t in complete] == [0]
    stamps = {t.number: (sweep_dir / "trials" / str(t.number) / "results.json").stat().st_mtime for t in complete}

    done = run_dltool("sweep", f"sweep.resume={sweep_dir}", cwd=tmp_path, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{sweep_dir / 'study.db'}")
    finished = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(finished) == 2  # sweep.n_trials
    for number, stamp in stamps.items():  # finished trials are not run again
        assert (sweep_dir / "trials" / str(number) / "results.json").stat().st_mtime == stamp
    (killed,) = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    (retry,) = [t for t in finished if t.system_attrs.get("failed_trial") == killed.number == 1]
    assert retry.params == killed.params  # the killed parameter set was evaluated after all
    assert retry.user_attrs["run_dir"] == killed.user_attrs["run_dir"]  # continued in place
    for trial in finished:  # each epoch once: the retry resumed its run rather than starting it again
        assert epochs(Path(trial.user_attrs["run_dir"])) == list(range(1, EPOCHS + 1)), trial.number
    assert results(Path(retry.user_attrs["run_dir"]))["resumed_from_epoch"] >= 1
    assert len(rows(sweep_dir)) == len(study.get_trials())
    assert not trial_processes(sweep_dir)


def test_two_processes_share_one_study(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    command = [*DLTOOL, "sweep", *QUICK, "sweep.n_trials=4", f"sweep.storage={storage}", "sweep.study_name=shared"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    workers = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=500)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert sum("(new," in out for out in outputs) == 1 and sum("(joined," in out for out in outputs) == 1
    study = optuna.load_study(study_name="shared", storage=storage)
    finished = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(finished) == 4
    runs = [p.parent for d in sweep_dirs(tmp_path) for p in (d / "trials").glob("*/results.json")]
    assert sorted(int(p.name) for p in runs) == sorted(t.number for t in finished)  # each trial ran once
    assert len({p.parent.parent for p in runs}) == 2  # both workers ran trials
    assert len({tuple(sorted(t.params.items())) for t in finished}) == 4  # no proposal repeated
