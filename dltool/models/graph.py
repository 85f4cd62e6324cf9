"""Functional-API graphs declared in YAML: ``model=graph`` (the spec, key by key, is docs/graph.md).

Nodes are built on demand in dependency order; every error (unknown name, cycle, shapes that do not fit) is a
one-line :class:`ConfigError` naming the node.

Example:
    >>> from dltool.models.graph import GraphConfig, GraphInputConfig, GraphOutputConfig
    >>> from dltool.data import DataSpec
    >>> cfg = GraphConfig(
    ...     inputs={"x": GraphInputConfig()},
    ...     shared={"dense": {"layer": "Dense", "args": {"units": 4}}},
    ...     nodes={"a": {"shared": "dense", "inputs": "x"}, "b": {"shared": "dense"},
    ...            "sum": {"merge": "add", "inputs": ["a", "b"]}, "out": {"layer": "Dense", "args": {"units": 1}}},
    ...     outputs={"out": GraphOutputConfig()},
    ... )
    >>> model = build_graph(cfg, DataSpec((4,), "regression", 1), None)
    >>> model.count_params()  # one shared Dense(4) on 4 inputs (20) and the output Dense(1) (5)
    25
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from dltool.config.fields import opt
from dltool.config.registry import SCHEMAS, builtin_config_dir, option
from dltool.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    import keras


@dataclass
class GraphInputConfig:  # model=graph: docs/graph.md
    shape: list[Any] | None = opt(
        None, "shape of one example, no batch axis; null sizes: any length (null: the data's)"
    )
    dtype: str | None = opt(None, "float32, int32, ... (null: the data's)")


@dataclass
class GraphOutputConfig:
    node: str | None = opt(None, "the node whose result this output is (null: the node of the output's name)")
    loss: str = opt("auto", "Keras loss name (auto: trainer.loss, or from the data's task for this output)")
    metrics: list[str] = opt(["auto"], "Keras metric names (auto: trainer.metrics resolved for this output's task)")
    loss_weight: float = opt(1.0, "weight of this output's loss in the total loss", ge=0.0)


@option("model")
@dataclass
class GraphConfig:
    """A functional-API graph; nodes, shared layers and blocks are checked when the graph is built."""

    builder: ClassVar[str] = "dltool.models.graph:build_graph"
    whole_model: ClassVar[bool] = True
    name: str = "graph"
    inputs: dict[str, GraphInputConfig] = opt({}, "named inputs")
    nodes: dict[str, Any] = opt({}, "named nodes: {layer|_target_|merge|shared|model|block, args, params, inputs}")
    outputs: dict[str, GraphOutputConfig] = opt({}, "named outputs, each with its loss, metrics and loss weight")
    shared: dict[str, Any] = opt(
        {}, "layer objects called by several nodes (shared weights): {layer|_target_|model, args}"
    )
    blocks: dict[str, Any] = opt(
        {}, "reusable sub-graphs: {params: {name: default}, inputs: [...], nodes: {...}, output}"
    )


#: What a node does: exactly one of these keys.
KINDS = ("layer", "_target_", "merge", "shared", "model", "block")
NODE_KEYS = (*KINDS, "inputs", "args", "params")
MERGES = {"add": "Add", "concatenate": "Concatenate", "multiply": "Multiply", "average": "Average"}  # keras.layers
APPLICATION_KEYS = ("application", "weights", "args")


@dataclass
class _Scope:
    """One namespace of nodes: the graph itself, or one instance of a block."""

    nodes: dict[str, Any]
    tensors: dict[str, Any]  # built so far; starts with the inputs of the scope
    path: str  # config key of the nodes, for messages
    params: dict[str, Any] = field(default_factory=dict)
    prefix: str = ""  # of the Keras layer names (block instances: "<node>_")
    blocks: tuple[str, ...] = ()  # blocks being instantiated (a block inside itself is a cycle)
    building: list[str] = field(default_factory=list)  # nodes being built (a node among them is a cycle)


def build_graph(cfg: Any, spec: Any, reg: Any) -> keras.Model:
    """The uncompiled Keras model declared by ``cfg`` (a ``GraphConfig``) for data ``spec``: dicts keyed by the
    data's input/output names, or one input and one output for plain data. ``reg`` regularizes the zoo
    sub-models only (the graph's own layers take their arguments as written)."""
    import keras

    _check_io_names(cfg, spec)
    inputs = {name: _input(name, node, spec) for name, node in cfg.inputs.items()}
    clash = set(inputs) & set(cfg.nodes)
    if clash:
        raise ConfigError(f"model.nodes.{sorted(clash)[0]}: a node cannot have the name of an input")
    builder = _Builder(cfg, reg)
    scope = _Scope(cfg.nodes, dict(inputs), "model.nodes")
    outputs = {}
    for name, out in cfg.outputs.items():
        tensor = builder.tensor(scope, out.node or name, f"model.outputs.{name}")
        if (out.node or name) != name:  # Keras names an output after its layer
            tensor = keras.layers.Identity(name=name)(tensor)
        _check_output(name, tensor, spec)
        outputs[name] = tensor
    for name in cfg.nodes:  # those no output uses too: every mistake is reported, not only those on a path
        builder.tensor(scope, name, f"model.nodes.{name}")
    model_inputs = inputs if spec.inputs is not None else next(iter(inputs.values()))
    model_outputs = outputs if spec.outputs is not None else next(iter(outputs.values()))
    return keras.Model(model_inputs, model_outputs, name="graph")


def _check_io_names(cfg: Any, spec: Any) -> None:
    """The graph's inputs and outputs are the data's, by name (or one of each for plain data)."""
    if not cfg.inputs:
        raise ConfigError("model.inputs: declare at least one input, e.g. {image: {}} (shape and dtype: the data's)")
    if not cfg.outputs:
        raise ConfigError("model.outputs: declare at least one output, e.g. {output: {node: <node name>}}")
    for key, declared, given in (("inputs", cfg.inputs, spec.inputs), ("outputs", cfg.outputs, spec.outputs)):
        if given is None:
            if len(declared) != 1:
                raise ConfigError(
                    f"model.{key}: the data has a single {key[:-1]}, the graph declares {len(declared)} "
                    f"({', '.join(declared)})"
                )
            continue
        for name in declared:
            if name not in given:
                raise ConfigError(
                    f"model.{key}.{name}: the data has no {key[:-1]} '{name}'{did_you_mean(name, given)}; "
                    f"its {key}: {', '.join(given)}"
                )
        missing = [name for name in given if name not in declared]
        if missing:
            raise ConfigError(
                f"model.{key}: the data's {key[:-1]} '{missing[0]}' is not declared in the graph; the data's "
                f"{key}: {', '.join(given)}; the graph's: {', '.join(declared)}"
            )


def _input(name: str, node: Any, spec: Any) -> Any:
    """``keras.Input`` of the declared shape and dtype, each the data's when null."""
    import keras

    data_shape = spec.inputs[name].shape if spec.inputs is not None else tuple(spec.input_shape)
    data_dtype = spec.inputs[name].dtype if spec.inputs is not None else spec.input_dtype
    shape = tuple(data_shape if node.shape is None else node.shape)
    fits = len(shape) == len(data_shape) and all(d is None or d == g for d, g in zip(shape, data_shape, strict=True))
    if not fits:
        raise ConfigError(
            f"model.inputs.{name}.shape={list(shape)}: the data gives examples of shape {list(data_shape)} "
            "(null sizes take any length)"
        )
    return keras.Input(shape=shape, dtype=node.dtype or data_dtype, name=name)


def _check_output(name: str, tensor: Any, spec: Any) -> None:
    from dltool.models import output_units

    target = spec.outputs[name] if spec.outputs is not None else spec
    units = output_units(target)
    if tensor.shape[-1] != units:
        raise ConfigError(
            f"model.outputs.{name}: its node gives {tensor.shape[-1]} values per example, the data's "
            f"{target.task} target needs {units}"
        )


class _Builder:
    """Builds the nodes on demand, in dependency order; keeps the shared layer objects."""

    def __init__(self, cfg: Any, reg: Any) -> None:
        self.cfg = cfg
        self.reg = reg
        self.shared: dict[str, Any] = {}

    def tensor(self, scope: _Scope, name: str, key: str) -> Any:
        """The output of node (or input) ``name`` of ``scope``, built with its inputs if not yet."""
        if name in scope.tensors:
            return scope.tensors[name]
        if name not in scope.nodes:
            known = [*scope.tensors, *scope.nodes]
            raise ConfigError(f"{key}: unknown input '{name}'{did_you_mean(name, known)}; known: {', '.join(known)}")
        where = f"{scope.path}.{name}"
        if name in scope.building:
            loop = [*scope.building[scope.building.index(name) :], name]
            raise ConfigError(f"{where}: cycle {' -> '.join(loop)}")
        node = scope.nodes[name]
        if not isinstance(node, dict):
            raise ConfigError(f"{where}: must be a mapping with one of {', '.join(KINDS)}")
        _check_keys(node, NODE_KEYS, where)
        scope.building.append(name)
        inputs = [self.tensor(scope, n, f"{where}.inputs") for n in self._input_names(scope, name, node, where)]
        scope.building.pop()
        scope.tensors[name] = self._apply(scope, name, node, inputs, where)
        return scope.tensors[name]

    def _input_names(self, scope: _Scope, name: str, node: dict[str, Any], where: str) -> list[str]:
        """The node's ``inputs``; by default the node declared before it (the first node: the single input)."""
        names = node.get("inputs")
        if names is None:
            order = list(scope.nodes)
            position = order.index(name)
            if position > 0:
                return [order[position - 1]]
            if len(scope.tensors) == 1 or scope.blocks:
                return [next(iter(scope.tensors))]
            raise ConfigError(f"{where}: say which inputs it takes (inputs: [...]); the first node has no default")
        return [names] if isinstance(names, str) else list(names)

    def _apply(self, scope: _Scope, name: str, node: dict[str, Any], inputs: list[Any], where: str) -> Any:
        import keras

        kinds = [k for k in KINDS if k in node]
        if len(kinds) != 1:
            raise ConfigError(f"{where}: give exactly one of {', '.join(KINDS)} (got {', '.join(kinds) or 'none'})")
        kind = kinds[0]
        if kind == "block":
            return self._block(scope, name, node, inputs, where)
        layer_name = scope.prefix + name
        if kind == "shared":
            layer = self._shared(node["shared"], inputs, where)
        elif kind == "merge":
            if node["merge"] not in MERGES:
                raise ConfigError(
                    f"{where}.merge={node['merge']}: must be one of {', '.join(MERGES)}"
                    f"{did_you_mean(str(node['merge']), MERGES)}"
                )
            if len(inputs) < 2:
                raise ConfigError(f"{where}: a merge takes at least 2 inputs, got {len(inputs)}")
            merge = getattr(keras.layers, MERGES[node["merge"]])
            layer = merge(**substitute(node.get("args", {}), scope.params, where), name=layer_name)
        else:
            layer = self._layer(node, scope.params, layer_name, inputs, where)
        return _call(layer, inputs, where, node.get("merge"))

    def _layer(self, node: dict[str, Any], params: dict[str, Any], name: str, inputs: list[Any], where: str) -> Any:
        """A new layer object of a ``layer``, ``_target_`` or ``model`` declaration."""
        import keras

        if "model" in node:
            return self._submodel(substitute(node["model"], params, where), inputs, name, where)
        args = substitute(node.get("args", {}), params, where)
        if not isinstance(args, dict):
            raise ConfigError(f"{where}.args: must be a mapping of the layer's arguments")
        if "layer" in node:
            cls = getattr(keras.layers, str(node["layer"]), None)
            if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
                names = [n for n in dir(keras.layers) if n[:1].isupper()]
                raise ConfigError(
                    f"{where}.layer={node['layer']}: not a keras.layers class{did_you_mean(str(node['layer']), names)}"
                )
        else:
            from hydra.utils import get_object

            try:
                cls = get_object(node["_target_"])
            except Exception:  # ImportError, AttributeError, ValueError from Hydra's resolver
                raise ConfigError(f"{where}._target_={node['_target_']}: cannot be imported") from None
        try:
            return cls(**{"name": name, **args})
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{where}: {getattr(cls, '__name__', cls)}({_short(args)}): {_one_line(err)}") from None

    def _shared(self, shared: str, inputs: list[Any], where: str) -> Any:
        """The one layer object of ``model.shared.<shared>``, created at its first use."""
        if shared not in self.cfg.shared:
            raise ConfigError(
                f"{where}.shared={shared}: no such entry in model.shared{did_you_mean(str(shared), self.cfg.shared)}"
                f"; declared: {', '.join(self.cfg.shared) or 'none'}"
            )
        if shared not in self.shared:
            node = self.cfg.shared[shared]
            key = f"model.shared.{shared}"
            kinds = [k for k in ("layer", "_target_", "model") if k in node]
            if len(kinds) != 1:
                raise ConfigError(f"{key}: give exactly one of layer, _target_, model")
            self.shared[shared] = self._layer(node, {}, shared, inputs, key)
        return self.shared[shared]

    def _submodel(self, spec: Any, inputs: list[Any], name: str, where: str) -> keras.Model:
        """A zoo model's body (``{name: cnn, ...}``) or a ``keras.applications`` base, as one layer."""
        import keras

        if not isinstance(spec, dict) or len(inputs) != 1:
            raise ConfigError(
                f"{where}.model: a mapping ({{name: <zoo model>, ...}} or {{application: ...}}), one input"
            )
        shape, dtype = tuple(inputs[0].shape[1:]), inputs[0].dtype
        if "application" in spec:
            return _application(spec, shape, name, f"{where}.model")
        from dltool.models import builder

        if spec.get("name") == "graph":
            raise ConfigError(f"{where}.model: a graph inside a graph is a block (model.blocks)")
        cfg = _zoo_config(spec, f"{where}.model")
        if type(cfg).whole_model:  # its builder makes a whole model from the data's spec, not a body of a tensor
            raise ConfigError(f"{where}.model: model={cfg.name} is a whole model, not a body a graph node can call")
        if not str(dtype).startswith("float"):
            raise ConfigError(f"{where}.model: takes float inputs; put an Embedding node before it")
        sub_input = keras.Input(shape=shape, dtype=dtype, name=f"{name}_input")
        try:
            features = builder(cfg.name)(cfg, sub_input, self.reg)
        except ValueError as err:
            raise ConfigError(
                f"{where}.model: {cfg.name} cannot take inputs of shape {list(shape)}: {_one_line(err)}"
            ) from None
        return keras.Model(sub_input, features, name=name)

    def _block(self, scope: _Scope, name: str, node: dict[str, Any], inputs: list[Any], where: str) -> Any:
        """One instance of ``model.blocks.<block>``: its nodes, named ``<node>_<inner node>``."""
        block = node["block"]
        if block not in self.cfg.blocks:
            raise ConfigError(
                f"{where}.block={block}: no such entry in model.blocks{did_you_mean(str(block), self.cfg.blocks)}; "
                f"declared: {', '.join(self.cfg.blocks) or 'none'}"
            )
        if block in scope.blocks:
            raise ConfigError(f"{where}: cycle of blocks {' -> '.join([*scope.blocks, block])}")
        decl = self.cfg.blocks[block]
        key = f"model.blocks.{block}"
        for k in decl:
            if k not in ("params", "inputs", "nodes", "output"):
                raise ConfigError(f"{key}: unknown key '{k}'; valid: params, inputs, nodes, output")
        defaults = dict(decl.get("params") or {})
        given = substitute(dict(node.get("params") or {}), scope.params, where)
        for param in given:
            if param not in defaults:
                raise ConfigError(
                    f"{where}.params.{param}: block {block} has no such parameter{did_you_mean(param, defaults)}; "
                    f"its parameters: {', '.join(defaults) or 'none'}"
                )
        block_inputs = list(decl.get("inputs") or ["x"])
        if len(block_inputs) != len(inputs):
            raise ConfigError(f"{where}: block {block} takes {len(block_inputs)} inputs, got {len(inputs)}")
        nodes = dict(decl.get("nodes") or {})
        if not nodes:
            raise ConfigError(f"{key}.nodes: a block needs nodes")
        inner = _Scope(
            nodes,
            dict(zip(block_inputs, inputs, strict=True)),
            f"{key}.nodes",
            params={**defaults, **given},
            prefix=f"{scope.prefix}{name}_",
            blocks=(*scope.blocks, block),
        )
        return self.tensor(inner, decl.get("output") or list(nodes)[-1], f"{key}.output")


def substitute(value: Any, params: dict[str, Any], where: str) -> Any:
    """``value`` with every string ``$name`` replaced by the block parameter ``name`` (recursively).

    >>> substitute({"filters": "$width", "kernel_size": [3, 3]}, {"width": 64}, "model.nodes.conv")
    {'filters': 64, 'kernel_size': [3, 3]}
    """
    if isinstance(value, dict):
        return {k: substitute(v, params, where) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, params, where) for v in value]
    if isinstance(value, str) and value.startswith("$") and value[1:].isidentifier():
        if value[1:] not in params:
            raise ConfigError(
                f"{where}: unknown parameter {value}{did_you_mean(value[1:], params)}; "
                f"parameters here: {', '.join(params) or 'none (they exist inside blocks)'}"
            )
        return params[value[1:]]
    return value


def _zoo_config(spec: dict[str, Any], where: str) -> Any:
    """The validated config of zoo option ``spec["name"]`` (``conf/model/<name>.yaml``, or, without one, its
    schema's defaults), other keys set on it."""
    from omegaconf import OmegaConf

    from dltool.config.validate import validate_node

    folder = builtin_config_dir() / "model"
    files = {p.stem: p for p in folder.glob("*.yaml")}
    options = sorted((set(files) | set(SCHEMAS["model"])) - {"graph"})
    option = str(spec.get("name"))
    if option not in options:
        raise ConfigError(
            f"{where}.name={option}: not a model option{did_you_mean(option, options)}; valid: {', '.join(options)}"
        )
    preset = OmegaConf.load(files[option]) if option in files else {"name": option}
    node = OmegaConf.merge(preset, {k: v for k, v in spec.items() if k != "name"})
    try:
        return validate_node("model", node)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None


def _application(spec: dict[str, Any], shape: tuple[Any, ...], name: str, where: str) -> keras.Model:
    """``keras.applications.<application>(weights=..., input_shape=shape, **args)``, renamed ``name``."""
    import keras

    _check_keys(spec, APPLICATION_KEYS, where)
    app = str(spec["application"])
    constructor = getattr(keras.applications, app, None)
    if not callable(constructor):
        names = [n for n in dir(keras.applications) if n[:1].isupper()]
        raise ConfigError(f"{where}.application={app}: not a keras.applications model{did_you_mean(app, names)}")
    args = {"include_top": False, **(spec.get("args") or {})}
    try:
        base = constructor(weights=spec.get("weights"), input_shape=shape, **args)
    except Exception as err:  # bad arguments, too small inputs, weights that cannot be downloaded offline
        raise ConfigError(f"{where}: {app}(input_shape={list(shape)}): {_one_line(err)}") from None
    return keras.Model(base.input, base.output, name=name)


def _call(layer: Any, inputs: list[Any], where: str, merge: str | None) -> Any:
    """``layer(inputs)``; Keras' shape errors become one line naming the node and the shapes."""
    try:
        return layer(inputs if merge or len(inputs) > 1 else inputs[0])
    except (ValueError, TypeError) as err:
        shapes = ", ".join(str(tuple(getattr(t, "shape", ()))) for t in inputs)
        what = f"cannot {merge} shapes {shapes}" if merge else f"cannot take inputs of shape {shapes}"
        raise ConfigError(f"{where}: {what}: {_one_line(err)}") from None


def _check_keys(node: dict[str, Any], valid: tuple[str, ...], where: str) -> None:
    for k in node:
        if k not in valid:
            raise ConfigError(f"{where}: unknown key '{k}'{did_you_mean(str(k), valid)}; valid: {', '.join(valid)}")


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:200]


def _short(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())
