"""The search space: Hydra's sweep grammar turned into Optuna distributions, and back into overrides.

A parameter is written as a Hydra override value, the grammar of Hydra's own sweepers:
``choice(16, 32, 64)`` or ``16,32,64`` (categorical, also group choices such as ``mlp,cnn``),
``range(0.0, 0.5, step=0.1)`` (evenly spaced, stop excluded), ``interval(1e-4, 1e-1)`` (uniform
float), ``int(interval(1, 8))`` (uniform integer) and ``tag(log, interval(1e-4, 1e-1))`` (log scale).

Example:
    >>> space = parse_space({"optimizer.learning_rate": "tag(log, interval(1e-4, 1e-1))",
    ...                      "model.hidden_units": "choice([32], [64, 64])"})
    >>> space["optimizer.learning_rate"].distribution
    FloatDistribution(high=0.1, log=True, low=0.0001, step=None)
    >>> space["model.hidden_units"].check_values
    ['[32]', '[64,64]']
    >>> trial_overrides(space, {"optimizer.learning_rate": 0.00123456789012, "model.hidden_units": "[32]"})
    ['optimizer.learning_rate=0.00123456789012', 'model.hidden_units=[32]']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dltool.errors import ConfigError, first_line

SYNTAX = "choice(a,b,...), range(start,stop,step=s), interval(low,high), int(interval(...)), tag(log,interval(...))"


@dataclass(frozen=True)
class Param:
    """One searched key: its expression as written, its Optuna distribution, and values to check."""

    key: str
    expression: str
    distribution: Any  # optuna.distributions.BaseDistribution
    check_values: list[str]  # override values composed and validated before any trial (ends of ranges)

    @property
    def grid(self) -> list[Any] | None:
        """Every value (categorical and stepped ranges), or None for a continuous interval."""
        from optuna.distributions import CategoricalDistribution

        d = self.distribution
        if isinstance(d, CategoricalDistribution):
            return list(d.choices)
        if d.step is None:
            return None
        count = round((d.high - d.low) / d.step) + 1
        return [_number(d.low + i * d.step, type(d.low)) for i in range(count)]


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{optimizer: {learning_rate: x}}`` and ``{optimizer.learning_rate: x}`` both give the dotted key.

    >>> flatten({"optimizer": {"learning_rate": "interval(0.1, 1)"}, "model": "mlp,cnn"})
    {'optimizer.learning_rate': 'interval(0.1, 1)', 'model': 'mlp,cnn'}
    """
    flat: dict[str, Any] = {}
    for key, value in params.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def parse_space(params: Mapping[str, Any]) -> dict[str, Param]:
    """Each ``key: expression`` of ``sweep.params`` (flattened) as a :class:`Param`; one-line errors."""
    return {key: parse_param(key, expression) for key, expression in flatten(params).items()}


def parse_param(key: str, expression: Any) -> Param:
    """One parameter; a YAML list is read as a choice between its items."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    text = str(expression) if not isinstance(expression, list) else f"choice({','.join(map(_literal, expression))})"
    try:
        (override,) = OverridesParser.create().parse_overrides([f"{key}={text}"])
    except OverrideParseException as err:
        raise ConfigError(f"sweep parameter {key}={text}: cannot parse ({first_line(err)}); use {SYNTAX}") from None
    if override.is_delete() or override.is_add() or override.is_force_add():
        raise ConfigError(f"sweep parameter {key}: searched keys are plain keys (no +, ++ or ~ prefix)")
    if not override.is_sweep_override():
        raise ConfigError(f"sweep parameter {key}={text}: a single value is not a search space; use {SYNTAX}")
    return from_override(key, text, override)


def from_override(key: str, text: str, override: Any) -> Param:
    """The distribution of a parsed Hydra sweep override (the mapping of Hydra's Optuna sweeper)."""
    from hydra.core.override_parser.types import IntervalSweep, RangeSweep
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    value = override.value()
    if override.is_choice_sweep() or (isinstance(value, RangeSweep) and value.shuffle):
        # the override's own spelling of each choice: lists and group names pass back unchanged
        choices = list(dict.fromkeys(override.sweep_string_iterator()))
        numbers = [_as_number(c) for c in choices]
        if all(n is not None for n in numbers):  # numbers stay numbers (ordered plots, csv)
            choices = numbers
        return Param(key, text, CategoricalDistribution(choices), [str(c) for c in choices])
    if isinstance(value, RangeSweep):
        values = list(override.sweep_iterator())
        if not values:
            raise ConfigError(f"sweep parameter {key}={text}: the range is empty")
        step = value.step
        if all(isinstance(v, int) for v in (*values, step)):
            dist: Any = IntDistribution(values[0], values[-1], step=step)
        else:
            dist = FloatDistribution(float(values[0]), float(values[-1]), step=float(step))
        return Param(key, text, dist, [format_value(values[0]), format_value(values[-1])])
    assert isinstance(value, IntervalSweep)
    log = "log" in value.tags
    if value.start >= value.end or (log and value.start <= 0):
        scale = " and low > 0 on a log scale" if log else ""
        raise ConfigError(f"sweep parameter {key}={text}: needs low < high{scale}")
    if isinstance(value.start, int) and isinstance(value.end, int):
        dist = IntDistribution(value.start, value.end, log=log)
    else:
        dist = FloatDistribution(float(value.start), float(value.end), log=log)
    return Param(key, text, dist, [format_value(dist.low), format_value(dist.high)])


def trial_overrides(space: Mapping[str, Param], params: Mapping[str, Any]) -> list[str]:
    """The ``key=value`` overrides of one trial's sampled ``params`` (floats as :func:`format_value` writes them)."""
    return [f"{key}={format_value(params[key])}" for key in space]


def format_value(value: Any) -> str:
    """A value in override syntax; a float at 12 significant digits, its shortest form (0.1 + 0.2 -> 0.3).

    >>> format_value(0.00422463807424846), format_value(1e-05), format_value(0.1 + 0.2), format_value(16)
    ('0.00422463807425', '1e-05', '0.3', '16')
    """
    return repr(rounded(value)) if isinstance(value, float) else str(value)


def rounded(value: Any) -> Any:
    """A float at 12 significant digits, the binary noise of decimal steps gone; any other value as it is.

    >>> rounded(0.30000000000000004), rounded(1.5e-07), rounded(float("nan")), rounded("relu")
    (0.3, 1.5e-07, nan, 'relu')
    """
    return float(f"{value:.12g}") if isinstance(value, float) else value


def _as_number(text: str) -> int | float | None:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return None


def _number(value: float, kind: type) -> int | float:
    return round(value) if kind is int else round(value, 12)


def _literal(item: Any) -> str:
    if isinstance(item, list):
        return f"[{','.join(map(_literal, item))}]"
    return str(item)
