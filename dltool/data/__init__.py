"""In-memory datasets: one :class:`Source` (a spec function and a load function) per ``data.name``.

``data_spec(cfg)`` is instant (no loading, no Keras) and is all a model needs;
``load_dataset(cfg, seed)`` returns the train/validation/test arrays. The options and
their keys are in ``conf/data/<name>.yaml``.

Example:
    >>> from dltool.config.data import DigitsConfig
    >>> spec = data_spec(DigitsConfig())
    >>> spec.input_shape, spec.task, spec.num_classes
    ((8, 8, 1), 'multiclass', 10)
    >>> load_dataset(DigitsConfig(max_samples=100), seed=42)
    Dataset(train=100, val=100, test=100, input_shape=(8, 8, 1), task='multiclass')
"""

from __future__ import annotations

from typing import Any

from dltool.config.validate import require_image_shape
from dltool.data import archives, arrays, digits, images, multi_io, points, sequences, synthetic, table_io, text
from dltool.data.base import Dataset, DataSpec, Source
from dltool.errors import ConfigError, did_you_mean

__all__ = ["DATASETS", "DataSpec", "Dataset", "Source", "check_data", "check_model_inputs", "data_spec", "load_dataset"]

DATASETS: dict[str, Source] = {
    "digits": Source(digits.spec, digits.load),
    **{name: Source(points.spec, points.load) for name in points.GENERATORS},
    "function": Source(synthetic.function_spec, synthetic.load_function),
    "synthetic": Source(synthetic.synthetic_spec, synthetic.load_synthetic),
    "sequences": Source(sequences.sequences_spec, sequences.load_sequences),
    "timeseries": Source(sequences.timeseries_spec, sequences.load_timeseries),
    "qa": Source(multi_io.qa_spec, multi_io.load_qa),
    "posts": Source(multi_io.posts_spec, multi_io.load_posts),
    "sentence_pairs": Source(multi_io.sentence_pairs_spec, multi_io.load_sentence_pairs),
    "camera_pairs": Source(multi_io.camera_pairs_spec, multi_io.load_camera_pairs),
    **{name: Source(archives.spec, archives.load, archives.check) for name in archives.ARCHIVES},
    # your own files
    "image_folder": Source(images.spec, images.load, images.check),
    "csv": Source(table_io.spec, table_io.load, table_io.check),
    "text_folder": Source(text.folder_text_spec, text.load_folder, text.check_folder),
    "imdb": Source(text.imdb_spec, text.load_imdb, text.check_imdb),
    "arrays": Source(arrays.spec, arrays.load, arrays.check),
}


def data_spec(cfg: Any) -> DataSpec:
    """Input shape, task and classes of the configured dataset, from the config alone."""
    return _source(cfg.name).spec(cfg)


def check_data(cfg: Any) -> None:
    """What can be checked before training without loading anything (e.g. the files of ``data.root``)."""
    source = _source(cfg.name)
    if source.check is not None:
        source.check(cfg)


def check_model_inputs(model_cfg: Any, data_cfg: Any) -> None:
    """A model that reads images, given other data, is refused from the data's spec, before Keras is imported."""
    if getattr(model_cfg, "image_input", False):
        spec = data_spec(data_cfg)
        if spec.inputs is None:
            require_image_shape(model_cfg.name, tuple(spec.input_shape))


def load_dataset(cfg: Any, seed: int) -> Dataset:
    """Load (or generate) and split the configured dataset; ``cfg.seed``, when set, replaces ``seed``."""
    seed = seed if cfg.seed is None else cfg.seed
    return _source(cfg.name).load(cfg, int(seed) % 2**32)


def _source(name: str) -> Source:
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(
            f"data={name}: unknown dataset{did_you_mean(name, DATASETS)}; choose one of {', '.join(DATASETS)}"
        ) from None
