"""Validate a composed config against the schemas and turn it into typed objects.

Every problem becomes a one-line :class:`~dltool.errors.ConfigError` naming the key and what
would be valid, before any data is loaded or TensorFlow imported.

Example:
    >>> from omegaconf import OmegaConf
    >>> cfg = OmegaConf.create({"trainer": {"epochs": -3}})
    >>> validate_node("trainer", cfg.trainer)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: trainer.epochs=-3: must be >= 0
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from dltool.config import schemas
from dltool.config.callbacks import CallbacksConfig
from dltool.config.data import DataConfig, TextConfig
from dltool.config.logger import LoggerConfig, NoLoggerConfig
from dltool.config.model import ModelConfig
from dltool.config.optimizer import OptimizerConfig, TargetOptimizerConfig, check_arguments
from dltool.config.regularization import RegularizationConfig
from dltool.config.sweep import SweepConfig
from dltool.config.trainer import TrainerConfig
from dltool.errors import ConfigError, did_you_mean, first_line

_BOUNDS = {"ge": (">=", operator.ge), "gt": (">", operator.gt), "le": ("<=", operator.le), "lt": ("<", operator.lt)}


@dataclass
class RunConfig:
    """The validated config of one run: one typed object per group."""

    data: DataConfig
    model: ModelConfig
    optimizer: OptimizerConfig
    regularization: RegularizationConfig
    callbacks: CallbacksConfig
    trainer: TrainerConfig
    name: str | None = None
    resume: str | None = None  # the run directory to continue (set by `dltool train resume=...`)
    allowed_targets: list[str] | None = None  # import-path prefixes a `_target_` may start with (None: any)
    logger: LoggerConfig = field(default_factory=NoLoggerConfig)  # runs saved before it: none

    @property
    def data_seed(self) -> int:
        """The seed of the data's splits: ``data.seed``, else ``trainer.seed``."""
        return self.data.seed_or(self.trainer.seed)


TOP_LEVEL_KEYS = tuple(f.name for f in dataclasses.fields(RunConfig))


def validate(cfg: DictConfig) -> RunConfig:
    """Check every group of a composed config; return the typed :class:`RunConfig`. A ``sweep`` node is refused:
    ``dltool sweep`` reads it (:func:`validate_sweep`) and composes its trials without it."""
    if "sweep" in cfg:
        raise ConfigError("sweep settings are read by `dltool sweep`, not `dltool train`: drop sweep=... and sweep.*")
    for key in cfg:
        if key not in TOP_LEVEL_KEYS and key != "hydra":
            raise ConfigError(
                f"unknown key '{key}'{did_you_mean(str(key), TOP_LEVEL_KEYS)}; "
                f"top-level keys are {', '.join(TOP_LEVEL_KEYS)}"
            )
    groups = {}
    for group in (*schemas.SCHEMAS, *schemas.FIXED_SCHEMAS):
        if group == "logger" and group not in cfg:
            continue  # the config of a run saved before loggers existed
        if group not in cfg or not isinstance(cfg[group], DictConfig):
            raise ConfigError(f"'{group}' is missing from the config: choose one with {group}=<option>")
        groups[group] = validate_node(group, cfg[group])
    if isinstance(groups["data"], TextConfig):  # how texts become numbers follows the model family
        groups["data"].follow_model(groups["model"])
    allowed = cfg.get("allowed_targets")
    if allowed is not None and not (OmegaConf.is_list(allowed) and all(isinstance(p, str) for p in allowed)):
        raise ConfigError(f"allowed_targets={allowed}: must be null or a list of import-path prefixes like [keras.]")
    if allowed is not None:
        check_allowed_targets(cfg, list(allowed))
    _check_name(cfg.get("name"))
    run = RunConfig(
        **groups,
        name=cfg.get("name"),
        resume=cfg.get("resume"),
        allowed_targets=list(allowed) if allowed is not None else None,
    )
    _check_cross_group(run)
    return run


def check_imports(cfg: DictConfig, run: RunConfig) -> None:
    """Import and check what the config's ``_target_`` keys name (callbacks, hooks, a graph's layers, an optimizer
    class), as training will use it: a one-line ConfigError for each problem.

    Importing runs the named modules' code: this is for a run about to start, not one only read (``dltool
    evaluate`` of a received run). The caller points Keras at the run's backend first, as a user's module may.
    """
    for key, spec in _built_targets(run).items():
        _check_target(key, spec)
    if isinstance(run.optimizer, TargetOptimizerConfig):
        check_arguments(run.optimizer, import_target("optimizer", run.optimizer._target_))
    if run.allowed_targets is not None:
        check_defined_where_named(list(find_targets(cfg)))


def _check_name(name: Any) -> None:
    """``name`` ends the run directory's name (``<time>_<name>``): a separator or ``..`` would lead out of outputs/."""
    if name is not None and any(part in str(name) for part in ("/", "\\", "..")):
        raise ConfigError(
            f"name={name}: a run name is part of one directory name, so it cannot hold /, \\ or ..; "
            "use letters, digits, - _ and single dots"
        )


def check_allowed_targets(cfg: DictConfig, allowed: list[str]) -> None:
    """Every ``_target_`` of the config, at any depth (``instantiate`` builds nested nodes too), must start with
    one of ``allowed``; nothing is imported."""
    for key, target in find_targets(cfg):
        if not str(target).startswith(tuple(allowed)):
            raise ConfigError(
                f"{key}._target_={target}: not allowed by allowed_targets "
                f"(import paths must start with one of: {', '.join(allowed) or 'nothing'})"
            )


def find_targets(cfg: DictConfig) -> Iterator[tuple[str, Any]]:
    """``(key, value)`` of every ``_target_`` in the config (Hydra's own ``hydra`` node aside), in mappings and lists.

    >>> cfg = OmegaConf.create({"callbacks": {"custom": [{"_target_": "a.B", "_args_": [{"_target_": "c.D"}]}]}})
    >>> list(find_targets(cfg))
    [('callbacks.custom[0]', 'a.B'), ('callbacks.custom[0]._args_[0]', 'c.D')]
    """
    for top in cfg:
        if top == "hydra":
            continue
        try:
            node = cfg[top]
            plain = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
        except OmegaConfBaseException as err:  # e.g. an interpolation that does not resolve
            raise ConfigError(f"{top}: {first_line(err)}") from None
        yield from _targets(plain, str(top))


def _targets(node: Any, key: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        if "_target_" in node:
            yield key, node["_target_"]
        for name, value in node.items():
            yield from _targets(value, f"{key}.{name}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _targets(value, f"{key}[{i}]")


def validate_sweep(node: DictConfig | None, overrides: list[str] = ()) -> SweepConfig:
    """The typed ``sweep`` node (a preset, or none), with ``sweep.key=value`` overrides applied here, not by Hydra:
    a preset holds only the settings it changes.

    >>> validate_sweep(None, ["sweep.n_jobs=2", "sweep.metric=[best_val_accuracy,params.total]"]).metric
    ['best_val_accuracy', 'params.total']
    """
    for override in overrides:
        if not override.startswith("sweep."):
            raise ConfigError(f"{override}: set sweep settings as sweep.<key>=<value> (no +, ++ or ~)")
    given = OmegaConf.from_dotlist([o.removeprefix("sweep.") for o in overrides])
    preset = OmegaConf.create(OmegaConf.to_container(node) if node is not None else {})  # out of struct mode
    return validate_node("sweep", OmegaConf.merge(preset, given))


def validate_node(group: str, node: DictConfig, schema: type | None = None) -> Any:
    """Validate one group's node against its schema (or ``schema``); return the dataclass instance."""
    schema = schema or _schema(group, node)
    try:
        raw = OmegaConf.to_container(node, resolve=True)
    except OmegaConfBaseException as err:
        raise ConfigError(f"{group}: {first_line(err)}") from None
    if schema is TargetOptimizerConfig:  # the class's own arguments go under kwargs, typed by no schema
        raw = TargetOptimizerConfig.split(raw)
    try:
        typed = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))
    except ConfigKeyError as err:
        raise ConfigError(_unknown_key_message(group, schema, err)) from None
    except ValidationError as err:
        raise ConfigError(_type_message(group, schema, err)) from None
    _check_constraints(typed, group)
    return typed


def _schema(group: str, node: DictConfig) -> type:
    if group in schemas.SINGLE_SCHEMAS:
        return schemas.SINGLE_SCHEMAS[group]
    if group == "optimizer" and "_target_" in node:
        return TargetOptimizerConfig
    options = schemas.SCHEMAS[group]
    name = node.get("name")
    if name not in options:
        raise ConfigError(
            f"{group}.name={name}: unknown {group}{did_you_mean(str(name), options)}; "
            f"valid: {', '.join(sorted(options))}"
        )
    return options[name]


def _check_constraints(obj: Any, prefix: str) -> None:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}.{f.name}"
        if dataclasses.is_dataclass(value):
            _check_constraints(value, key)
            continue
        if isinstance(value, list):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    _check_constraints(item, f"{key}[{i}]")
            continue
        if value is None:
            continue
        choices = f.metadata.get("choices")
        if choices is not None and not any(value == c and type(value) is type(c) for c in choices):  # 1 is no True
            names = [_yaml(c) for c in choices]
            raise ConfigError(
                f"{key}={_yaml(value)}: must be one of {', '.join(names)}{did_you_mean(_yaml(value), names)}"
            )
        for bound, (symbol, holds) in _BOUNDS.items():
            if bound in f.metadata and not holds(value, f.metadata[bound]):
                raise ConfigError(f"{key}={value}: must be {symbol} {f.metadata[bound]}")


def _yaml(value: Any) -> str:
    """A value as the command line spells it: true/false for booleans."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _check_cross_group(run: RunConfig) -> None:
    devices = run.trainer.devices
    if not (
        devices in ("auto", "cpu", "gpu")
        or (isinstance(devices, list) and devices and all(isinstance(d, int) and d >= 0 for d in devices))
    ):
        raise ConfigError(f"trainer.devices={devices}: must be auto, cpu, gpu or a list of GPU indices like [0, 1]")
    if run.logger.name == "mlflow":
        import importlib.util

        if importlib.util.find_spec("mlflow") is None:
            raise ConfigError("logger=mlflow: the mlflow package is not installed: pip install 'dltool[mlflow]'")
    if run.model.name == "gan":
        _check_gan(run)
    for key, hook in _hooks(run).items():
        if isinstance(hook, str):
            check_template(key, hook)


def imports_something(cfg: DictConfig, run: RunConfig) -> bool:
    """Whether the config names objects to import (``_target_`` keys, an optimizer class)."""
    named = run.allowed_targets is not None and any(True for _ in find_targets(cfg))
    return bool(_built_targets(run)) or isinstance(run.optimizer, TargetOptimizerConfig) or named


def _hooks(run: RunConfig) -> dict[str, Any]:
    return {f"callbacks.lambda_callback.{h.name}": getattr(run.callbacks.lambda_callback, h.name)
            for h in dataclasses.fields(run.callbacks.lambda_callback)}  # fmt: skip


def _built_targets(run: RunConfig) -> dict[str, Any]:
    """The config's objects built from a ``_target_``, by key: custom callbacks, hooks, a graph's own layers."""
    targets = {f"callbacks.custom[{i}]": spec for i, spec in enumerate(run.callbacks.custom)}
    targets.update({key: hook for key, hook in _hooks(run).items() if hook is not None and not isinstance(hook, str)})
    if isinstance(run.model, schemas.SCHEMAS["model"]["graph"]):  # a graph's own layers by import path
        targets.update(_graph_targets(run.model))
    return targets


def _check_gan(run: RunConfig) -> None:
    """The GAN's backend, and its monitor: ``loss``/``val_loss`` is the generator's ``g_loss``, mode ``min``."""
    backend = run.trainer.backend
    if backend != "tensorflow":
        raise ConfigError(
            f"trainer.backend={backend}: model=gan trains with TensorFlow's gradient tapes; "
            "use trainer.backend=tensorflow"
        )
    cb = run.callbacks
    if cb.monitor in ("loss", "val_loss"):
        cb.monitor = cb.monitor.replace("loss", "g_loss")
    if cb.mode == "auto":  # Keras cannot tell the direction of a metric it does not know: both are losses
        cb.mode = "min"
    monitors = ["g_loss", "d_loss", "val_g_loss", "val_d_loss"]
    if cb.monitor not in monitors:
        raise ConfigError(
            f"callbacks.monitor={cb.monitor}: model=gan logs {', '.join(monitors)}{did_you_mean(cb.monitor, monitors)}"
        )


def require_image_shape(model: str, example_shape: tuple) -> tuple:
    """``example_shape`` if it is an image's (height, width, channels); else one line saying which models fit.

    >>> require_image_shape("cnn", (1,))
    Traceback (most recent call last):
    dltool.errors.ConfigError: model=cnn needs image inputs (height, width, channels); the data gives examples of \
shape (1,): use model=mlp for them
    """
    if len(example_shape) != 3:
        raise ConfigError(
            f"model={model} needs image inputs (height, width, channels); the data gives examples of shape "
            f"{example_shape}: use model=mlp for them"
        )
    return example_shape


def check_template(key: str, template: str) -> None:
    """ConfigError unless ``template`` is a message template of plain names (no ``{x.attr}``, ``{x[i]}``).

    >>> check_template("callbacks.lambda_callback.on_epoch_end", "epoch {epoch}: {loss:.3f}")
    >>> check_template("k", "{loss.__class__}")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: k='{loss.__class__}': only plain names like {epoch} or {val_loss:.4f} may be used
    """
    import string

    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as err:
        raise ConfigError(f"{key}={template!r}: not a message template ({err})") from None
    for name in fields:
        if not name.isidentifier():
            raise ConfigError(
                f"{key}={template!r}: only plain names like {{epoch}} or {{val_loss:.4f}} may be used, not {{{name}}}"
            )


def _graph_targets(graph: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(key, node)`` of every node, shared entry and block node of a graph that has a ``_target_``."""
    places = [("model.nodes", graph.nodes), ("model.shared", graph.shared)]
    places += [(f"model.blocks.{name}.nodes", block.get("nodes") or {}) for name, block in graph.blocks.items()]
    return [
        (f"{where}.{name}", node)
        for where, nodes in places
        for name, node in nodes.items()
        if isinstance(node, dict) and "_target_" in node
    ]


def _check_target(key: str, spec: Any) -> None:
    """A ``_target_`` imports and runs code: it must import (its prefix was checked before, by :func:`validate`)."""
    if not isinstance(spec, dict) or "_target_" not in spec:
        raise ConfigError(
            f"{key}: must be a mapping with a _target_ import path, e.g. {{_target_: keras.callbacks.LambdaCallback}}"
        )
    import_target(key, spec["_target_"])


def import_target(key: str, target: Any) -> Any:
    """The object a ``_target_`` names, as Hydra finds it; a one-line ConfigError if it cannot be imported."""
    import logging

    from hydra.utils import get_object

    hydra_log = logging.getLogger("hydra.utils")
    hydra_log.disabled = True  # it logs the failure too: the one line below says it
    try:
        return get_object(str(target))
    except Exception as err:  # ImportError, AttributeError, ValueError from Hydra's resolver
        reason = next((line.strip() for line in str(err).splitlines() if "Error(" in line), first_line(err))
        raise ConfigError(f"{key}._target_={target}: cannot be imported ({reason})") from None
    finally:
        hydra_log.disabled = False


def check_defined_where_named(targets: list[tuple[str, Any]]) -> None:
    """Each allowed ``_target_`` must be defined in the package its path starts with: Hydra reaches a name through
    modules' attributes, so ``keras.src.utils.file_utils.shutil.copyfile`` is ``shutil.copyfile``."""
    for key, target in targets:
        found = import_target(key, target)
        module = found.__name__ if inspect.ismodule(found) else getattr(found, "__module__", None)
        package = str(target).split(".")[0]
        if not isinstance(module, str) or module.split(".")[0] != package:
            what = f"{module}.{getattr(found, '__qualname__', '')}".rstrip(".") if module else type(found).__name__
            raise ConfigError(
                f"{key}._target_={target}: leads to {what}, which is not defined in {package}; "
                "allowed_targets admits only objects defined in the package their path names"
            )


def _unknown_key_message(group: str, schema: type, err: ConfigKeyError) -> str:
    key = str(err.full_key or err.key)
    leaf = key.split(".")[-1].split("[")[0]
    parent = _field_type(schema, key.split(".")[:-1])
    valid = [f.name for f in dataclasses.fields(parent)] if dataclasses.is_dataclass(parent) else []
    hint = did_you_mean(leaf, valid)
    return f"unknown key '{group}.{key}'{hint}; valid keys here: {', '.join(valid)}"


def _type_message(group: str, schema: type, err: ValidationError) -> str:
    key = str(err.full_key or err.key)
    expected = _field_type(schema, key.split("."))
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    want = names.get(typing.get_args(expected)[0] if typing.get_origin(expected) is typing.Union else expected)
    shown = f"expected {want}" if want else first_line(err)
    return f"{group}.{key}={err.value if hasattr(err, 'value') else '?'}: {shown}".replace("=None:", ":")


def _field_type(schema: Any, path: list[str]) -> Any:
    """Follow a dotted key through the schema's type hints (list items count as their element type)."""
    current = schema
    for part in path:
        part = part.split("[")[0]
        if not dataclasses.is_dataclass(current):
            return None
        hints = typing.get_type_hints(current)
        current = hints.get(part)
        if typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
    return current
