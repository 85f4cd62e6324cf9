"""The trial process's side of pruning: report each epoch's validation metric to the study.

``dltool sweep`` adds this callback to every trial through ``callbacks.custom``
(``dltool.sweep.runner.reporter_spec``: the sweep itself never imports this module, nor Keras); the trial,
a ``dltool train`` subprocess, opens the study's storage, reports ``monitor`` after each epoch and
stops training when the pruner says so, leaving ``pruned_at_epoch`` on the trial for the sweep.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import keras

from dltool.sweep.study import GRACE_S, make_pruner, make_storage

log = logging.getLogger("dltool")


def attempt_id(study: Any, trial_number: int) -> int:
    """The id of the running attempt at trial ``trial_number``: the trial itself, or the retry that runs now (a
    resumed trial process keeps its first attempt's config, whose trial failed when its sweep died; the retry, same
    parameters and run directory, lists it in ``retry_history``)."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial_number in (trial.number, *trial.system_attrs.get("retry_history", ())):
            return trial._trial_id
    return study._storage.get_trial_id_from_study_id_trial_number(study._study_id, trial_number)


class OptunaReporter(keras.callbacks.Callback):
    """Report ``monitor`` to trial ``trial_number`` each epoch; stop training when the pruner says so."""

    def __init__(
        self,
        storage: str,
        study_name: str,
        trial_number: int,
        monitor: str,
        pruner: str,
        epochs: int,
        grace_s: int = GRACE_S,
    ):
        super().__init__()
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.load_study(
            study_name=study_name, storage=make_storage(storage, grace_s), pruner=make_pruner(pruner, epochs)
        )
        self.trial = optuna.trial.Trial(study, attempt_id(study, trial_number))  # driven from this process
        self.monitor = monitor
        self.pruned_at: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return  # a failing run ends by itself (the non-finite loss guard)
        step = epoch + 1
        self.trial.report(float(value), step)
        if self.trial.should_prune():
            self.pruned_at = step
            self.trial.set_user_attr("pruned_at_epoch", step)
            log.info("pruned by the sweep after epoch %d (%s %.4g)", step, self.monitor, float(value))
            self.model.stop_training = True
