"""In-memory datasets: one :class:`Source` (a spec function, a load function, an optional check) per ``data.name``,
named by the option's schema.

``data_spec(cfg)`` is instant (no loading, no Keras) and is all a model needs;
``load_dataset(cfg, seed)`` returns the train/validation/test arrays. The options and
their keys: ``dltool list data`` and ``dltool show data=<name>``.

Adding a data source: one module ``dltool/data/<name>.py`` holding its schema, a dataclass decorated
``@option("data")`` whose ``name`` default is the option's name and whose ``source`` ClassVar is
``"dltool.data.<name>:SOURCE"``; its ``spec(cfg)``, ``load(cfg, seed)`` (and, if something can be checked before
loading, ``check(cfg)``); and ``SOURCE = Source(spec, load, check)``. The registry imports every module of this
package when the data group is first read, which registers the schemas; a ``conf/data/<name>.yaml`` is optional.

Example:
    >>> from dltool.data.digits import DigitsConfig
    >>> spec = data_spec(DigitsConfig())
    >>> spec.input_shape, spec.task, spec.num_classes
    ((8, 8, 1), 'multiclass', 10)
    >>> load_dataset(DigitsConfig(max_samples=100), seed=42)
    Dataset(train=100, val=100, test=100, input_shape=(8, 8, 1), task='multiclass')
"""

from __future__ import annotations

from typing import Any

from dltool.config.registry import SCHEMAS, resolve
from dltool.config.validate import require_image_shape
from dltool.data.base import Dataset, DataSpec, Source
from dltool.errors import ConfigError, did_you_mean

#: The data modules in the order of the registry (of messages listing the datasets); others follow by name.
ORDER = ("digits", "points", "synthetic", "sequences", "multi_io", "archives", "images", "tables", "text", "arrays")

__all__ = ["DataSpec", "Dataset", "Source", "check_data", "check_model_inputs", "data_spec", "load_dataset", "source"]


def data_spec(cfg: Any) -> DataSpec:
    """Input shape, task and classes of the configured dataset, from the config alone."""
    return source(cfg.name).spec(cfg)


def check_data(cfg: Any) -> None:
    """What can be checked before training without loading anything (e.g. the files of ``data.root``)."""
    check = source(cfg.name).check
    if check is not None:
        check(cfg)


def check_model_inputs(model_cfg: Any, data_cfg: Any) -> None:
    """A model that reads images, given other data, is refused from the data's spec, before Keras is imported."""
    if getattr(model_cfg, "image_input", False):
        spec = data_spec(data_cfg)
        if spec.inputs is None:
            require_image_shape(model_cfg.name, tuple(spec.input_shape))


def load_dataset(cfg: Any, seed: int) -> Dataset:
    """Load (or generate) and split the configured dataset; ``cfg.seed``, when set, replaces ``seed``."""
    return source(cfg.name).load(cfg, int(cfg.seed_or(seed)) % 2**32)


def source(name: str) -> Source:
    """The :class:`Source` of data option ``name`` (its schema's ``source``, imported now), or a ConfigError."""
    options = SCHEMAS["data"]
    if name not in options:
        raise ConfigError(
            f"data={name}: unknown dataset{did_you_mean(name, options)}; choose one of {', '.join(options)}"
        )
    return resolve(options[name].source)
