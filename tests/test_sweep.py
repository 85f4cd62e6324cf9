"""``dltool sweep``: search-space grammar, plan checks, study sharing and recovery, the trial loop
(with stand-in trial processes that need no TensorFlow), pruning, results files.
End-to-end runs of real trials are in test_sweep_e2e.py."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf

from dltool.config import compose, validate
from dltool.errors import ConfigError, JobFailed
from dltool.sweep import run_sweep
from dltool.sweep import study as studies
from dltool.sweep.plan import SweepPlan, make_plan
from dltool.sweep.results import too_few_completed, trials_table, write_plots, write_trials_csv
from dltool.sweep.runner import SweepRunner
from dltool.sweep.space import parse_param, parse_space, trial_overrides
from tests.conftest import run_dltool

optuna.logging.set_verbosity(optuna.logging.WARNING)


# ------------------------------------------------------------------------ the grammar
def test_each_syntax_gives_its_distribution() -> None:
    space = parse_space(
        {
            "optimizer": {"learning_rate": "tag(log, interval(1e-4, 1e-1))"},
            "trainer.batch_size": "choice(16, 32, 64, 128)",
            "model.hidden_units": "choice([32], [64, 64])",
            "model": "mlp,cnn",
            "regularization.dropout": "range(0.0, 0.5, step=0.1)",
            "trainer.epochs": "int(interval(2, 8))",
            "model.activation": ["relu", "elu"],
        }
    )
    d = {k: p.distribution for k, p in space.items()}
    assert isinstance(d["optimizer.learning_rate"], optuna.distributions.FloatDistribution)
    assert d["optimizer.learning_rate"].log and d["optimizer.learning_rate"].low == 1e-4
    assert d["trainer.batch_size"].choices == (16, 32, 64, 128)
    assert d["model.hidden_units"].choices == ("[32]", "[64,64]")
    assert d["model"].choices == ("mlp", "cnn")
    assert d["model.activation"].choices == ("relu", "elu")
    assert space["regularization.dropout"].grid == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert isinstance(d["trainer.epochs"], optuna.distributions.IntDistribution)
    assert (d["trainer.epochs"].low, d["trainer.epochs"].high) == (2, 8)
    assert space["optimizer.learning_rate"].grid is None
    assert space["optimizer.learning_rate"].check_values == ["0.0001", "0.1"]
    params = {"regularization.dropout": 0.30000000000000004, "trainer.batch_size": 32}
    sub = {k: space[k] for k in params}
    assert trial_overrides(sub, params) == ["regularization.dropout=0.3", "trainer.batch_size=32"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0.1", "a single value is not a search space"),
        ("interval(1e-4", "cannot parse"),
        ("tag(log, interval(0, 1))", "low > 0 on a log scale"),
        ("interval(2, 1)", "needs low < high"),
    ],
)
def test_bad_expressions_are_one_line(expression: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_param("optimizer.learning_rate", expression)


# --------------------------------------------------------------------------- the plan
def test_plan_reads_preset_and_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    plan = make_plan(["sweep=quick", "sweep.n_trials=4", "model.hidden_units=[8],[16]", "trainer.epochs=2"])
    assert plan.settings.n_trials == 4 and plan.settings.sampler == "tpe"
    assert plan.space["model.hidden_units"].distribution.choices == ("[8]", "[16]")  # the command line wins
    assert "trainer.epochs=2" in plan.base_overrides and plan.epochs == 2
    assert plan.sweep_dir.parent.parent == (tmp_path / "outputs" / "sweeps").resolve()
    saved = json.loads((plan.sweep_dir / "sweep.yaml").read_text())
    assert saved["argv"][0] == "sweep=quick" and plan.storage == f"sqlite:///{plan.sweep_dir}/study.db"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["optimizer.lerning_rate=interval(1e-4,1e-1)"], r"optimizer.lerning_rate.*did you mean learning_rate"),
        (["sweep=quik"], r"sweep=quik: no such sweep option \(did you mean quick\?\)"),
        (["sweep.sampler=grid"], r"sweep.sampler=grid: optimizer.learning_rate=.* has no grid"),
        (["sweep.metric=test_accuracy"], r"pruning needs a per-epoch validation metric"),
        (["sweep.metric=val_accuracy", "sweep.pruner=none"], r"metric \(did you mean best_val_accuracy\?\)"),
        (["sweep.direction=maximise"], r"did you mean maximize"),
        (["sweep.n_trials=0"], r"sweep.n_trials=0: must be > 0"),
        (["sweep.isolation=proces"], r"sweep.isolation=proces: must be one of worker, process \(did you mean process"),
        (["sweep.worker_max_rss_mb=0"], r"sweep.worker_max_rss_mb=0.0: must be > 0"),
        (["model=mlp,cnnn"], r"search space: model=cnnn: no such model option \(did you mean cnn\?\)"),
        (["+trainer.foo=1,2"], r"plain key"),
    ],
)
def test_plan_errors_name_the_key(argv: list[str], message: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        make_plan(argv)
    assert not (tmp_path / "outputs").exists()  # nothing created before the checks pass


def test_typo_exits_2_before_any_trial(tmp_path: Path) -> None:
    done = run_dltool("sweep", "optimizer.lerning_rate=tag(log,interval(1e-4,1e-1))", cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "optimizer.lerning_rate" in done.stderr and "did you mean learning_rate" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "outputs").exists()


def test_train_refuses_a_sweep_node() -> None:
    with pytest.raises(ConfigError, match="read by `dltool sweep`"):
        validate(compose(["sweep=quick"]))
    validate(compose([]))  # no sweep node by default: dltool train is unchanged


def test_resume_keeps_the_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    plan = make_plan(["sweep=quick"])
    again = make_plan([f"sweep.resume={plan.sweep_dir}", "sweep.n_trials=9"])
    assert again.sweep_dir == plan.sweep_dir and again.settings.n_trials == 9
    assert again.study_name == plan.study_name and list(again.space) == list(plan.space)
    isolated = make_plan([f"sweep.resume={plan.sweep_dir}", "sweep.isolation=process", "sweep.worker_trials=5"])
    assert (isolated.settings.isolation, isolated.settings.worker_trials) == ("process", 5)  # how, not what
    with pytest.raises(ConfigError, match="cannot change on resume"):
        make_plan([f"sweep.resume={plan.sweep_dir}", "trainer.epochs=9"])
    with pytest.raises(ConfigError, match="not a sweep directory"):
        make_plan([f"sweep.resume={tmp_path}"])


# -------------------------------------------------------------------- studies, workers
def test_joining_workers_get_their_own_seed(tmp_path: Path) -> None:
    """The creator samples with the study seed; a joiner with a fixed seed would repeat its proposals."""
    storage = studies.make_storage(f"sqlite:///{tmp_path / 'study.db'}")
    space = {"x": optuna.distributions.FloatDistribution(0, 1)}
    pruner = studies.make_pruner("none", 3)
    first, created = studies.open_study(storage, "s", ["maximize"], optuna.samplers.RandomSampler, pruner, 7)
    second, joined_created = studies.open_study(storage, "s", ["maximize"], optuna.samplers.RandomSampler, pruner, 7)
    assert (created, joined_created) == (True, False)
    a, b = first.ask(space), second.ask(space)
    assert a.params["x"] != b.params["x"]
    alone = optuna.create_study(sampler=optuna.samplers.RandomSampler(7)).ask(space)
    assert alone.params["x"] == a.params["x"]  # the creator's proposals are reproducible from the seed
    with pytest.raises(ConfigError, match="optimizes maximize"):
        studies.open_study(storage, "s", ["minimize"], optuna.samplers.RandomSampler, pruner, 7)


@pytest.mark.parametrize("clash", ["IntegrityError", "ProgrammingError"])
def test_workers_creating_one_new_database_together_all_open_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clash: str
) -> None:
    """Another worker created a table, type or row first ("already exists" on PostgreSQL): open it again."""
    import sqlalchemy.exc

    create = optuna.storages.RDBStorage.__init__
    calls = []

    def raced(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise getattr(sqlalchemy.exc, clash)("CREATE TABLE studies", {}, Exception('"studies" already exists'))
        create(self, *args, **kwargs)

    monkeypatch.setattr(optuna.storages.RDBStorage, "__init__", raced)
    monkeypatch.setattr(studies.time, "sleep", lambda s: None)
    storage = studies.make_storage(f"sqlite:///{tmp_path / 'study.db'}")
    assert len(calls) == 2 and studies.open_study(storage, "s", ["maximize"], optuna.samplers.RandomSampler, None, 0)[1]


def test_trials_of_a_dead_process_are_queued_again(tmp_path: Path) -> None:
    storage = studies.make_storage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage, study_name="s")
    space = {"x": optuna.distributions.FloatDistribution(0, 1)}
    dead, alive = study.ask(space), study.ask(space)
    dead_pid = os.fork()
    if dead_pid == 0:
        os._exit(0)
    os.waitpid(dead_pid, 0)
    dead.set_user_attr("worker", f"{socket.gethostname()}:{dead_pid}")
    dead.set_user_attr("run_dir", "trials/0")
    alive.set_user_attr("worker", studies.worker_identity())
    assert studies.fail_dead_trials(study) == [0]
    states = {t.number: t.state.name for t in study.get_trials()}
    assert states == {0: "FAIL", 1: "RUNNING", 2: "WAITING"}
    retry = study.get_trials()[2]
    assert retry.params == dead.params and retry.user_attrs["run_dir"] == "trials/0"
    assert study.ask(space).number == 2  # the next ask runs it, with the same parameters


def test_a_trial_its_process_never_claimed_is_queued_again_after_the_grace_period(tmp_path: Path) -> None:
    # a sweep killed between study.ask and the trial's first heartbeat and ``worker``: no owner to check
    storage = studies.make_storage(f"sqlite:///{tmp_path / 'study.db'}", grace_s=1)  # sweep.heartbeat_grace_s
    study = optuna.create_study(storage=storage, study_name="s")
    orphan = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    assert studies.fail_dead_trials(study) == []  # it may be a live worker's that is about to claim it
    time.sleep(1.1)
    assert studies.fail_dead_trials(study) == [0]
    assert [t.state.name for t in study.get_trials()] == ["FAIL", "WAITING"]
    assert study.get_trials()[1].params == orphan.params


def test_a_retry_stops_the_previous_attempt_still_training_in_its_run_directory(tmp_path: Path) -> None:
    # stand-ins whose command lines are those of trial processes; only the one training in run_dir is killed
    def train_process(run_dir: Path) -> subprocess.Popen:
        sleeper = "import time; time.sleep(120)"
        return subprocess.Popen([sys.executable, "-c", sleeper, "dltool", "train", f"hydra.run.dir={run_dir}"])

    run_dir, other_dir = tmp_path / "trials" / "1", tmp_path / "trials" / "2"
    orphan, neighbour = train_process(run_dir), train_process(other_dir)
    try:
        here = socket.gethostname()
        assert not studies.stop_orphan(f"{here}:{neighbour.pid}", run_dir)  # another trial's
        assert not studies.stop_orphan(f"elsewhere:{orphan.pid}", run_dir)  # another machine's
        assert studies.stop_orphan(f"{here}:{orphan.pid}", run_dir)
        assert orphan.wait(timeout=5) == -signal.SIGKILL
        assert neighbour.poll() is None
        assert not studies.stop_orphan(f"{here}:{orphan.pid}", run_dir)  # gone: nothing to do
    finally:
        for process in (orphan, neighbour):
            process.kill()
            process.wait()


LIFELINE_CHILD = """
import sys, time
from dltool import lifeline
if sys.argv[1] == "watchdog":
    sys.platform = "darwin"  # no PR_SET_PDEATHSIG: the watchdog thread alone
lifeline.follow_parent()
print("ready", flush=True)
time.sleep(120)
"""
LIFELINE_PARENT = """
import os, subprocess, sys
from dltool.lifeline import child_env
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], env=child_env(dict(os.environ)))
print(child.pid, flush=True)
child.wait()
"""


@pytest.mark.parametrize("way", ["pdeathsig", "watchdog"])
def test_a_child_dies_with_its_parent(way: str) -> None:
    if way == "pdeathsig" and not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    parent = subprocess.Popen(
        [sys.executable, "-c", LIFELINE_PARENT, LIFELINE_CHILD, way], stdout=subprocess.PIPE, text=True
    )
    lines = {parent.stdout.readline().strip() for _ in range(2)}  # the child's pid, and its "ready"
    lines.discard("ready")
    (child,) = map(int, lines)
    assert studies._alive(child)
    parent.kill()  # SIGKILL: no chance for the parent to clean up
    parent.wait()
    deadline = time.monotonic() + 10
    while studies._alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = studies._alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "the child outlived its parent"


def test_gpu_slots_spread_trials_one_per_gpu() -> None:
    assert [studies.slot_devices([0, 1, 2, 3], "auto", s) for s in range(5)] == ["0", "1", "2", "3", "0"]
    assert [studies.slot_devices([4, 5, 6, 7], 2, s) for s in range(3)] == ["4,5", "6,7", "4,5"]
    assert studies.slot_devices([], "auto", 0) is None  # no GPU: the environment is left alone
    assert studies.slot_devices([0, 1], 0, 0) == ""  # CPU trials on a GPU machine
    with pytest.raises(ConfigError, match="only 2 GPU"):
        studies.slot_devices([0, 1], 4, 0)


def test_reporter_prunes_a_poor_trial(tmp_path: Path) -> None:
    from dltool.sweep.pruning import OptunaReporter

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=url, study_name="s", direction="maximize")
    for _ in range(3):
        good = study.ask()
        for epoch in (1, 2, 3):
            good.report(0.9, epoch)
        study.tell(good, 0.9)
    model = {}
    for name, value in (("promising", 0.95), ("poor", 0.2)):
        trial = study.ask()
        reporter = OptunaReporter(url, "s", trial.number, "val_accuracy", "median", 3)
        model[name] = types.SimpleNamespace(stop_training=False)
        reporter.set_model(model[name])
        reporter.on_epoch_end(0, {"val_accuracy": value})
    assert not model["promising"].stop_training  # above the median of the finished trials: goes on
    assert model["poor"].stop_training and reporter.pruned_at == 1
    frozen = study.get_trials()[-1]
    assert frozen.intermediate_values == {1: 0.2} and frozen.user_attrs["pruned_at_epoch"] == 1


def test_a_resumed_trial_reports_to_the_retry_that_runs_it(tmp_path: Path) -> None:
    from dltool.sweep.pruning import OptunaReporter

    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=studies.make_storage(url), study_name="s", direction="maximize")
    first = study.ask()
    first.report(0.5, 1)
    studies.fail_and_requeue(study, first._trial_id)  # its sweep died after epoch 1
    retry = study.ask()
    # the resumed process has its first attempt's config: it names trial 0
    reporter = OptunaReporter(url, "s", first.number, "val_accuracy", "none", 3)
    reporter.set_model(types.SimpleNamespace(stop_training=False))
    reporter.on_epoch_end(1, {"val_accuracy": 0.7})
    assert study._storage.get_trial(retry._trial_id).intermediate_values == {2: 0.7}


# ------------------------------------------------------- the loop, with stand-in trials
STAND_IN = """
import json, sys, pathlib
run_dir, value = pathlib.Path(sys.argv[1]), float(sys.argv[2])
if value < 0:
    sys.exit(1)
run_dir.mkdir(parents=True, exist_ok=True)
results = {"status": "completed", "best_val_accuracy": value, "test_accuracy": value, "epochs_run": 2,
           "params": {"total": 100}}
(run_dir / "results.json").write_text(json.dumps(results))
"""


PROCESS = "sweep.isolation=process"  # a stand-in is a Python command line, not a dltool one a worker runs


def stand_in(value_of: dict) -> object:
    """A trial command that writes results.json with a value from its parameters (or fails if < 0)."""

    def command(self: SweepRunner, trial: optuna.trial.Trial, run_dir: Path) -> list[str]:
        trial.set_user_attr("overrides", [*self.plan.base_overrides, *trial_overrides(self.plan.space, trial.params)])
        return [sys.executable, "-c", STAND_IN, str(run_dir), str(value_of(trial.params))]

    return command


def test_parallel_workers_finish_exactly_n_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(SweepRunner, "trial_command", stand_in(lambda p: p["optimizer.learning_rate"] * 10))
    argv = ["sweep=quick", "sweep.n_trials=5", "sweep.n_jobs=3", "sweep.pruner=none", "sweep.sampler=random", PROCESS]
    assert run_sweep(argv) == 0
    (sweep_dir,) = (tmp_path / "outputs" / "sweeps").glob("*/*")
    rows = list(csv.DictReader((sweep_dir / "trials.csv").open()))
    assert [r["state"] for r in rows] == ["complete"] * 5
    for row in rows:
        assert float(row["best_val_accuracy"]) == pytest.approx(float(row["optimizer.learning_rate"]) * 10)
        assert Path(row["run_dir"]) == sweep_dir / "trials" / row["number"]
    best = max(rows, key=lambda r: float(r["best_val_accuracy"]))
    config = OmegaConf.load(sweep_dir / "best_config.yaml")
    assert config.optimizer.learning_rate == pytest.approx(float(best["optimizer.learning_rate"]))
    assert config.trainer.epochs == 3 and config.data.max_samples == 300 and "sweep" not in config
    validate(config)  # complete: every group is there
    for plot in ("optimization_history", "param_importances", "parallel_coordinate", "slice", "contour"):
        assert (sweep_dir / f"{plot}.png").stat().st_size > 1000


def test_a_retry_resumes_its_run_or_records_the_run_that_had_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    plan = make_plan(["sweep=quick", "sweep.n_trials=1", "sweep.pruner=none", PROCESS])
    study = optuna.create_study(
        storage=studies.make_storage(plan.storage), study_name=plan.study_name, direction="maximize"
    )
    runner = SweepRunner(plan, study, 1, lambda study: None)
    trial = study.ask(runner.distributions)
    started, new = tmp_path / "started", tmp_path / "new"
    (started / ".hydra").mkdir(parents=True)
    (started / ".hydra" / "config.yaml").write_text("trainer: {epochs: 3}\n")
    assert runner.trial_command(trial, started)[-2:] == ["train", f"resume={started}"]
    assert runner.trial_command(trial, new)[-1] == f"hydra.run.dir={new}"

    # its process wrote results.json, then the sweep died before recording the trial
    finished = tmp_path / "finished"
    finished.mkdir()
    (finished / "results.json").write_text(json.dumps({"status": "completed", "best_val_accuracy": 0.8}))
    trial.set_user_attr("run_dir", str(finished))
    studies.fail_and_requeue(study, trial._trial_id)
    monkeypatch.setattr(SweepRunner, "trial_command", stand_in(lambda p: -1))  # a trial run again would fail
    runner.run()
    (complete,) = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert complete.value == 0.8 and complete.params == trial.params
    assert not (finished / "output.log").exists()  # recorded, not run


def test_failed_trials_are_recorded_and_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(SweepRunner, "trial_command", stand_in(lambda p: -1))
    with pytest.raises(JobFailed, match="3 trials failed in a row"):
        run_sweep(["sweep=quick", "sweep.n_trials=10", "sweep.max_failures=3", PROCESS])
    (sweep_dir,) = (tmp_path / "outputs" / "sweeps").glob("*/*")
    rows = list(csv.DictReader((sweep_dir / "trials.csv").open()))
    assert [(r["state"], r["error"]) for r in rows] == [("fail", "exit code 1")] * 3
    assert not (sweep_dir / "best_config.yaml").exists()


# ------------------------------------------------------------------ results, from a study in memory
def study_in_memory(tmp_path: Path, values: list[float | None]) -> tuple[optuna.Study, SweepPlan]:
    """A study of ``values`` (None: a trial pruned at epoch 1) over a stepped dropout and a log learning rate."""
    space = parse_space(
        {
            "regularization.dropout": "range(0.0, 0.5, step=0.1)",
            "optimizer.learning_rate": "tag(log, interval(1e-4, 1e-1))",
        }
    )
    plan = SweepPlan(tmp_path, [], None, space, [], [], "", "s", 2, ["best_val_accuracy"], ["maximize"], [])
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    for i, value in enumerate(values):
        study.enqueue_trial(
            {"regularization.dropout": (0.1 * 3, 0.4, 0.2)[i], "optimizer.learning_rate": 0.00422463807424846 * (i + 1)}
        )
        trial = study.ask({k: p.distribution for k, p in space.items()})
        trial.report(0.1, 1)
        study.tell(trial, value, state=None if value is not None else optuna.trial.TrialState.PRUNED)
    return study, plan


def test_parameters_and_values_are_shown_at_12_significant_digits(tmp_path: Path) -> None:
    study, plan = study_in_memory(tmp_path, [0.8500000238418579, 0.25])
    assert study.trials[0].params["regularization.dropout"] == 0.30000000000000004  # what Optuna holds
    write_trials_csv(study, plan, tmp_path / "trials.csv")
    (first, second) = csv.DictReader((tmp_path / "trials.csv").open())
    assert first["regularization.dropout"] == "0.3" and first["optimizer.learning_rate"] == "0.00422463807425"
    assert first["best_val_accuracy"] == "0.850000023842" and second["regularization.dropout"] == "0.4"
    assert trial_overrides(plan.space, study.trials[0].params) == [
        "regularization.dropout=0.3",
        "optimizer.learning_rate=0.00422463807425",
    ]


def test_fewer_than_two_completed_trials_draw_no_importances(tmp_path: Path) -> None:
    study, plan = study_in_memory(tmp_path, [0.8, None, None])
    drawn = {p.name for p in write_plots(study, plan)}
    assert "optimization_history.png" in drawn and not {"param_importances.png", "contour.png"} & drawn
    assert too_few_completed(study).startswith("param_importances.png and contour.png not drawn: 1 completed trial ")
    study, plan = study_in_memory(tmp_path, [0.8, None, 0.6])
    assert too_few_completed(study) is None
    assert {"param_importances.png", "contour.png"} <= {p.name for p in write_plots(study, plan)}


def test_the_closing_table_ranks_completed_trials_best_first_with_whole_headers(tmp_path: Path) -> None:
    from rich.console import Console

    study, plan = study_in_memory(tmp_path, [0.25, 0.85, None])
    screen = Console(width=60, record=True, file=io.StringIO())
    screen.print(trials_table(study, plan, best_first=True))
    lines = screen.export_text().splitlines()
    assert [line.split("│")[1].strip() for line in lines if line.startswith("│") and line.split("│")[1].strip()] == [
        "1",
        "0",
        "2",
    ]
    header = " ".join(line for line in lines if line.startswith("┃"))
    assert "learning_rate" in header and "dropout" in header and "best so far" not in header


def test_a_sweep_of_one_completed_trial_says_why_it_draws_no_importances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(SweepRunner, "trial_command", stand_in(lambda p: 0.5))
    assert run_sweep(["sweep=quick", "sweep.n_trials=1", "sweep.pruner=none", PROCESS]) == 0
    (sweep_dir,) = (tmp_path / "outputs" / "sweeps").glob("*/*")
    why = "param_importances.png and contour.png not drawn: 1 completed trial "
    printed = " ".join(capsys.readouterr().out.split())  # the console wraps lines at its width
    assert why in printed and why in (sweep_dir / "sweep.log").read_text()
    assert (sweep_dir / "optimization_history.png").exists() and not (sweep_dir / "param_importances.png").exists()


def test_postgresql_urls_name_the_installed_driver_or_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = {"psycopg"}
    monkeypatch.setattr(studies.importlib.util, "find_spec", lambda name: object() if name in installed else None)
    assert studies.driver_url("postgresql://me@db/s") == "postgresql+psycopg://me@db/s"
    installed.add("psycopg2")
    assert studies.driver_url("postgresql://me@db/s") == "postgresql+psycopg2://me@db/s"
    assert studies.driver_url("sqlite:///x.db") == "sqlite:///x.db"
    installed.clear()
    with pytest.raises(
        ConfigError, match=r"sweep.storage=postgresql://me:\*\*\*@db/s: .*pip install 'dltool\[postgres\]'"
    ):
        studies.driver_url("postgresql://me:secret@db/s")


def test_storage_calls_wait_out_a_lost_database_then_give_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    monkeypatch.setattr(studies.time, "sleep", lambda s: None)
    lost = OperationalError("SELECT 1", {}, Exception("connection refused"))
    outcomes: list[Exception | str] = [lost, optuna.exceptions.StorageInternalError("commit"), "told"]
    outcomes[1].__cause__ = lost  # how Optuna reports a connection lost inside a session

    def flaky() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    retry = studies._Retry("postgresql://db/s", patience_s=5)
    assert retry.call(flaky) == "told" and not outcomes  # a short outage: the call goes through
    with pytest.raises(ValueError):
        retry.call(lambda: int("x"))  # other errors are not retried

    def down() -> None:
        raise lost

    clock = iter(range(100))
    monkeypatch.setattr(studies.time, "monotonic", lambda: next(clock))
    with pytest.raises(studies.StorageUnreachable, match=r"unreachable for 5 s \(sweep.heartbeat_grace_s\)"):
        retry.call(down)
    with pytest.raises(studies.StorageUnreachable):  # from now on at once, even if it came back
        retry.call(lambda: "told")
