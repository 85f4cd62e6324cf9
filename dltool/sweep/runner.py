"""The trial runner: ``sweep.n_jobs`` threads, each asking the study for a trial and running it as a
``dltool train`` run in its own run directory, in the slot's worker process (:mod:`dltool.sweep.worker`)
or in a process of its own (``sweep.isolation``).

Exit 0 and the metric in ``results.json`` make a trial complete (or pruned, when its reporter stopped it);
anything else fails it. Counting the study's finished and running trials before each trial lets several
workers finish exactly ``sweep.n_trials`` between them. A trial whose process died is run again as
``dltool train resume=<run dir>`` (README, "Failures, Ctrl-C, crashes, several machines").

Example:
    >>> hydra_literal({"_target_": "a.B", "path": "sqlite:///x.db", "n": 3, "on": True})
    "{_target_:'a.B',path:'sqlite:///x.db',n:3,on:true}"
    >>> spec = reporter_spec("sqlite:////tmp/s/study.db", "s", 3, "val_accuracy", "hyperband", 10, 60)
    >>> spec["_target_"], spec["trial_number"]
    ('dltool.sweep.pruning.OptunaReporter', 3)
"""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from dltool.errors import JobFailed
from dltool.lifeline import child_env
from dltool.rundir import read_results
from dltool.sweep import study as studies
from dltool.sweep.plan import SweepPlan
from dltool.sweep.results import state_counts
from dltool.sweep.space import format_value, trial_overrides
from dltool.sweep.worker import TrialWorker

log = logging.getLogger("dltool.sweep")
POLL_S = 2.0  # a waiting worker looks at the study this often
DLTOOL = [sys.executable, "-m", "dltool"]  # a trial's command line starts so; a worker is handed the rest


def hydra_literal(value: Any) -> str:
    """``value`` in Hydra's override grammar (quoted strings, so paths and URLs pass unchanged)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(hydra_literal(v) for v in value) + "]"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def reporter_spec(
    storage: str, study_name: str, trial_number: int, monitor: str, pruner: str, epochs: int, grace_s: int
) -> dict:
    """The ``callbacks.custom`` entry of one trial (``grace_s``: how long it waits out a lost database): the trial
    reports to the study through :class:`dltool.sweep.pruning.OptunaReporter`, a Keras callback, named here
    rather than imported, so that the sweep never imports Keras (TensorFlow's start-up is the trials')."""
    return {
        "_target_": "dltool.sweep.pruning.OptunaReporter",
        "storage": storage,
        "study_name": study_name,
        "trial_number": trial_number,
        "monitor": monitor,
        "pruner": pruner,
        "epochs": epochs,
        "grace_s": grace_s,
    }


def metric_value(results: dict[str, Any], metric: str) -> float | None:
    """``results.json``'s ``metric`` (``params.total`` reads a nested key); None if absent or not finite.

    >>> metric_value({"params": {"total": 10}, "best_val_accuracy": 0.9}, "params.total")
    10.0
    >>> metric_value({"best_val_loss": float("nan")}, "best_val_loss") is None
    True
    """
    value: Any = results
    for part in metric.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


class SweepRunner:
    """Runs the trials of a plan; :meth:`run` returns when the study holds ``n_trials`` finished ones."""

    def __init__(self, plan: SweepPlan, study: Any, n_trials: int, show: Any) -> None:
        self.plan, self.study, self.n_trials, self.show = plan, study, n_trials, show
        self.settings = plan.settings
        self.identity = studies.worker_identity()
        self.gpus = studies.visible_gpus()
        self.lock = threading.Lock()
        self.stop_reason: str | None = None
        self.error: BaseException | None = None  # what ended a worker thread: raised by run()
        self.failures_in_a_row = 0
        self.started = time.monotonic()
        self.running: dict[int, subprocess.Popen] = {}  # trial id -> its process (or its worker's)
        self.isolation = self.settings.isolation
        if self.isolation == "worker" and "trainer.backend" in plan.space:
            log.info("sweep.isolation=process: Keras' backend (trainer.backend, searched) is chosen once per process")
            self.isolation = "process"
        self.distributions = {k: p.distribution for k, p in plan.space.items()}

    # ------------------------------------------------------------------ the loop
    def run(self) -> None:
        """Run ``n_jobs`` workers until done; on Ctrl-C stop them and queue their trials again."""
        per_trial = self.settings.gpus_per_trial
        devices = [studies.slot_devices(self.gpus, per_trial, slot) for slot in range(self.settings.n_jobs)]
        threads = [
            threading.Thread(target=self._slot, args=(devices[slot],), daemon=True, name=f"trial-slot-{slot}")
            for slot in range(self.settings.n_jobs)
        ]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                for thread in threads:
                    thread.join(timeout=0.5)
        except KeyboardInterrupt:
            self._interrupt()
            raise
        if self.error is not None:
            raise self.error

    def _slot(self, devices: str | None) -> None:
        """One slot's trials, in its worker process or a process each, started by this thread (which waits for them)."""
        env = child_env({**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")})
        if devices is not None:
            env["CUDA_VISIBLE_DEVICES"] = devices
        worker = None
        if self.isolation == "worker":
            worker = TrialWorker(
                env, self.plan.sweep_dir / "trials", self.settings.worker_trials, self.settings.worker_max_rss_mb
            )
        try:
            self._trials(env, worker)
        except Exception as err:  # e.g. the database stayed away: the other threads stop too, run() raises it
            with self.lock:
                self.error = self.error or err
                self.stop_reason = self.stop_reason or "error"
        finally:
            if worker is not None:
                worker.close()

    def _trials(self, env: dict[str, str], worker: TrialWorker | None) -> None:
        while True:
            step = self._next_step()
            if step == "stop":
                return
            if step == "wait":
                time.sleep(POLL_S)
                continue
            trial = self.study.ask(self.distributions)
            self.study._storage.record_heartbeat(trial._trial_id)
            trial.set_user_attr("worker", self.identity)
            if self._surplus(trial.number):
                trial.set_user_attr("surplus", True)
                self.study.tell(trial, state=_state("FAIL"))
                continue
            self._run_trial(trial, env, worker)

    def _next_step(self) -> str:
        """``go`` (start a trial), ``wait`` (others may still fail) or ``stop``."""
        with self.lock:
            if self.stop_reason:
                return "stop"
            if self.settings.timeout and time.monotonic() - self.started > self.settings.timeout:
                self.stop_reason = f"sweep.timeout={self.settings.timeout:g} s reached"
                return "stop"
            studies.fail_dead_trials(self.study)
            states = [t.state.name for t in self.study.get_trials(deepcopy=False)]
            finished = sum(state in studies.FINISHED for state in states)
            if finished >= self.n_trials:
                return "stop"
            return "wait" if finished + states.count("RUNNING") >= self.n_trials else "go"

    def _surplus(self, number: int) -> bool:
        """Whether ``n_trials`` trials, finished or running, come before trial ``number`` (it lost a race)."""
        trials = self.study.get_trials(deepcopy=False)
        ahead = sum(t.number < number and t.state.name in (*studies.FINISHED, "RUNNING") for t in trials)
        return ahead >= self.n_trials

    # --------------------------------------------------------------- one trial
    def trial_command(self, trial: Any, run_dir: Path) -> list[str]:
        """The ``dltool train`` command line of one trial (of a retry: the resume of its run)."""
        overrides = [*self.plan.base_overrides, *trial_overrides(self.plan.space, trial.params)]
        trial.set_user_attr("overrides", overrides)
        if (run_dir / ".hydra" / "config.yaml").is_file():
            # a retry: the attempt that died saved its config there; go on from its last complete epoch
            return [*DLTOOL, "train", f"resume={run_dir}"]
        if "failed_trial" in self.study._storage.get_trial(trial._trial_id).system_attrs:
            # a retry, but the attempt that died left nothing here (its directory is on another machine's disk)
            log.info("trial %d: no earlier attempt in %s; it starts over from epoch 1", trial.number, run_dir)
        callbacks = list(self.plan.custom_callbacks)
        if self.settings.pruner != "none":
            callbacks.append(
                reporter_spec(
                    self.plan.storage,
                    self.plan.study_name,
                    trial.number,
                    str(self.plan.monitor),
                    self.settings.pruner,
                    self.plan.epochs,
                    self.settings.heartbeat_grace_s,
                )
            )
        extra = [f"callbacks.custom={hydra_literal(callbacks)}"] if callbacks != self.plan.custom_callbacks else []
        return [*DLTOOL, "train", *self.plan.hydra_flags, *overrides, *extra, f"hydra.run.dir={run_dir}"]

    def _run_trial(self, trial: Any, env: dict[str, str], worker: TrialWorker | None) -> None:
        # a retried trial (its process died) carries its run directory and its previous attempt's process
        run_dir = Path(trial.user_attrs.get("run_dir") or self.plan.sweep_dir / "trials" / str(trial.number))
        trial.set_user_attr("run_dir", str(run_dir))
        if studies.stop_orphan(trial.user_attrs.get("process"), run_dir):
            log.info("trial %d: stopped the previous attempt's process, still running in %s", trial.number, run_dir)
        if read_results(run_dir).get("status") == "completed":  # finished, but its sweep died before recording it
            self._finish(trial, 0, run_dir)
            self.show(self.study)
            return
        if trial.user_attrs.get("pruned_at_epoch"):
            trial.set_user_attr("pruned_at_epoch", None)  # copied from the interrupted attempt
        command = self.trial_command(trial, run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        log.info("trial %d starts: %s", trial.number, " ".join(trial_overrides(self.plan.space, trial.params)))
        self.show(self.study)
        with open(run_dir / "output.log", "ab") as output:
            # started from this thread, which waits for it: the child's PR_SET_PDEATHSIG follows this thread
            if worker is None:
                process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
            else:
                process = worker.submit(command[len(DLTOOL) :], output)
            trial.set_user_attr("process", f"{self.identity.rpartition(':')[0]}:{process.pid}")
            with self.lock:
                self.running[trial._trial_id] = process
            interval = self.study._storage.get_heartbeat_interval()
            while (returncode := _wait(process, worker, output, interval)) is None:
                self.study._storage.record_heartbeat(trial._trial_id)
        with self.lock:
            self.running.pop(trial._trial_id, None)
            if self.stop_reason == "interrupted":
                return  # _interrupt() closed the trial
        self._finish(trial, returncode, run_dir)
        self.show(self.study)

    def _finish(self, trial: Any, returncode: int, run_dir: Path) -> None:
        results = read_results(run_dir)
        values = [metric_value(results, m) for m in self.plan.metrics]
        for key, value in results.items():
            if key in ("epochs_run", "train_time_s", "best_epoch") or key.startswith(("test_", "best_val_")):
                trial.set_user_attr(key, value)
        if "params" in results:
            trial.set_user_attr("params_total", results["params"].get("total"))
        pruned_at = self.study._storage.get_trial(trial._trial_id).user_attrs.get("pruned_at_epoch")
        if returncode == 0 and results.get("status") == "completed" and None not in values:
            state, error = ("PRUNED" if pruned_at else "COMPLETE"), None
        else:
            missing = [m for m, v in zip(self.plan.metrics, values, strict=True) if v is None]
            error = results.get("error") or (
                f"exit code {returncode}" if returncode else f"results.json has no finite {', '.join(missing)}"
            )
            state = "FAIL"
            trial.set_user_attr("error", str(error))
        if state == "COMPLETE":
            self.study.tell(trial, values if len(values) > 1 else values[0])
        else:
            self.study.tell(trial, state=_state(state))
        with self.lock:
            self.failures_in_a_row = self.failures_in_a_row + 1 if state == "FAIL" else 0
            if self.failures_in_a_row >= self.settings.max_failures and not self.stop_reason:
                self.stop_reason = f"{self.failures_in_a_row} trials failed in a row (sweep.max_failures)"
        shown = ", ".join(format_value(v) for v in values if v is not None)
        log.info("trial %d %s %s%s", trial.number, state.lower(), shown, f": {error}" if error else "")

    def _interrupt(self) -> None:
        """Stop the running trials and queue them again, so that ``sweep.resume`` continues them."""
        with self.lock:
            self.stop_reason = "interrupted"
            running = dict(self.running)
        for process in running.values():
            process.terminate()
        for process in running.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for trial_id in running:
            studies.fail_and_requeue(self.study, trial_id)


def _wait(process: subprocess.Popen, worker: TrialWorker | None, output: Any, timeout: float) -> int | None:
    """The trial's exit code, or None if it still runs after ``timeout`` seconds."""
    if worker is not None:
        return worker.wait(output, timeout)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def _state(name: str) -> Any:
    from optuna.trial import TrialState

    return TrialState[name]


def run_trials(plan: SweepPlan, study: Any, n_trials: int, show: Any) -> SweepRunner:
    """Run the sweep's trials; raise :class:`JobFailed` if it stopped on failures or completed none."""
    runner = SweepRunner(plan, study, n_trials, show)
    runner.run()
    counts = state_counts(study)  # surplus trials, closed unrun, left out
    if runner.stop_reason and "failed in a row" in runner.stop_reason:
        raise JobFailed(f"sweep stopped: {runner.stop_reason}; see trials/<n>/output.log in {plan.sweep_dir}")
    if not counts.get("complete"):
        raise JobFailed(f"no trial completed ({counts}); see trials/<n>/output.log in {plan.sweep_dir}")
    return runner
