"""Training on several machines: ``trainer.strategy=multi_worker`` (TensorFlow's MultiWorkerMirroredStrategy).

Every worker runs the same command; the cluster comes from ``TF_CONFIG`` or SLURM's environment
(docs/scale.md). The chief writes the run directory; the other workers write theirs into a temporary
directory, removed at the end.

Example (two workers on one machine, each in its own shell; index 1 in the second):
    export TF_CONFIG='{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]},
                       "task": {"type": "worker", "index": 0}}'
    dltool train trainer.strategy=multi_worker

    >>> is_chief({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}'})
    False
    >>> is_chief({"SLURM_PROCID": "0", "SLURM_NTASKS": "2"}), is_chief({})
    (True, True)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

from dltool.errors import ConfigError


def _slurm_workers(env: Mapping[str, str]) -> int:
    return int(env.get("SLURM_STEP_NUM_TASKS") or env.get("SLURM_NTASKS") or 1) if "SLURM_PROCID" in env else 0


def is_chief(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process writes the run directory: the chief task, else worker 0 (or not in a cluster)."""
    env = os.environ if env is None else env
    if env.get("TF_CONFIG"):
        config = json.loads(env["TF_CONFIG"])
        task = config.get("task", {})
        if "chief" in config.get("cluster", {}):
            return task.get("type") == "chief"
        return task.get("type", "worker") == "worker" and int(task.get("index", 0)) == 0
    if _slurm_workers(env) > 1:
        return env["SLURM_PROCID"] == "0"
    return True


@contextlib.contextmanager
def worker_run_dir(strategies: list[str]) -> Iterator[str | None]:
    """A temporary run directory for a non-chief worker (removed afterwards): its run directory is the chief's alone.

    Yields None for the chief and for runs that are not multi-worker.
    """
    if "multi_worker" not in strategies or is_chief():
        yield None
        return
    scratch = tempfile.mkdtemp(prefix="dltool-worker-")
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def multi_worker_strategy() -> Any:
    """A ``MultiWorkerMirroredStrategy`` on the cluster of ``TF_CONFIG``, else of SLURM.

    Blocks until every worker has started (a worker without its peers waits here).
    """
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    elif _slurm_workers(os.environ) > 1:
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
    else:
        raise ConfigError(
            "trainer.strategy=multi_worker: no cluster found; set TF_CONFIG on every worker "
            '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}) '
            "or start the workers with srun (one task per worker)"
        )
    patch_keras_for_multi_worker()
    return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)


def patch_keras_for_multi_worker() -> None:
    """Work around keras-team/keras#20585: Keras 3's ``fit`` under ``MultiWorkerMirroredStrategy``.

    Applied only under ``trainer.strategy=multi_worker`` (idempotent). Two spots of Keras' TensorFlow
    trainer fail there (Keras 3.15, TensorFlow 2.21):

    1. ``_maybe_symbolic_build`` mean-reduces the first ``(x, y)`` batch across replicas to learn its
       shapes; the collective ``reduce`` cannot take a nested structure ("Attempt to convert a value
       (PerReplica...) to a Tensor"). Only shapes and dtypes are needed: this hands it the first local
       replica's batch.
    2. ``reduce_per_replica`` mean-reduces every log value across workers along axis 0, which a scalar
       (each loss and metric) does not have: scalars are mean-reduced whole.
    """
    import tensorflow as tf
    from keras import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    if getattr(tf_trainer, "_dltool_multi_worker_patch", False):
        return
    build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    reduce = tf_trainer.reduce_per_replica

    def first_replica(strategy: Any, value: Any) -> Any:
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(self: Any, iterator: Any = None, data_batch: Any = None) -> None:
        if self._distribute_strategy is not None and iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(lambda v: first_replica(self.distribute_strategy, v), next(batches))
                break
        build(self, data_batch=data_batch)

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        def one(value: Any) -> Any:
            if (
                reduction in ("auto", "mean")
                and tf_trainer._collective_all_reduce_multi_worker(strategy)
                and first_replica(strategy, value).shape.rank == 0
            ):
                return strategy.reduce("MEAN", value, axis=None)
            return reduce(value, strategy, reduction)

        return tree.map_structure(one, values)

    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer._dltool_multi_worker_patch = True
