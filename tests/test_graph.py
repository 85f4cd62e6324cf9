"""model=graph (dltool/models/graph.py), the multi-input/multi-output datasets and their batches."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from dltool.config import compose, validate
from dltool.config.regularization import RegularizationConfig
from dltool.config.validate import validate_node
from dltool.data import DataSpec, load_dataset
from dltool.data.multi_io import (
    CameraPairsConfig,
    PostsConfig,
    QAConfig,
    SentencePairsConfig,
    load_camera_pairs,
    load_posts,
    load_qa,
    load_sentence_pairs,
)
from dltool.errors import ConfigError
from dltool.models import build_model
from dltool.models.graph import GraphConfig, build_graph

VECTORS = DataSpec((6,), "regression", 1)
REG = RegularizationConfig()


def graph(nodes: dict, outputs: dict | None = None, inputs: dict | None = None, **more) -> GraphConfig:
    """A validated GraphConfig, as from YAML."""
    node = OmegaConf.create(
        {"name": "graph", "inputs": inputs or {"x": {}}, "nodes": nodes, "outputs": outputs or {"out": {}}, **more}
    )
    return validate_node("model", node)


def test_shared_layer_is_one_object_with_one_set_of_weights():
    cfg = graph(
        {
            "left": {"shared": "dense", "inputs": "a"},
            "right": {"shared": "dense", "inputs": "b"},
            "merged": {"merge": "concatenate", "inputs": ["left", "right"]},
            "out": {"layer": "Dense", "args": {"units": 1}},
        },
        inputs={"a": {}, "b": {}},
        shared={"dense": {"layer": "Dense", "args": {"units": 8}}},
    )
    spec = DataSpec((6,), "multioutput", 1, inputs={"a": _input((6,)), "b": _input((6,))}, outputs={"out": _out()})
    model = build_graph(cfg, spec, REG)
    dense = model.get_layer("dense")
    assert len(dense._inbound_nodes) == 2  # called by both branches
    assert [layer.name for layer in model.layers].count("dense") == 1
    assert model.count_params() == (6 * 8 + 8) + (16 + 1)  # the shared Dense counted once
    x = {"a": np.ones((2, 6), "float32"), "b": np.zeros((2, 6), "float32")}
    assert model.predict(x, verbose=0)["out"].shape == (2, 1)


def test_block_is_instantiated_with_its_parameters():
    cfg = graph(
        {
            "b1": {"block": "mlp", "inputs": "x"},
            "b2": {"block": "mlp", "params": {"units": 3}},
            "out": {"layer": "Dense", "args": {"units": 1}},
        },
        blocks={
            "mlp": {
                "params": {"units": 5},
                "inputs": ["h"],
                "nodes": {
                    "d1": {"layer": "Dense", "args": {"units": "$units"}},
                    "d2": {"layer": "Dense", "args": {"units": "$units"}},
                },
            }
        },
    )
    model = build_model(cfg, VECTORS, REG)
    assert model.get_layer("b1_d1").units == 5 and model.get_layer("b1_d2").units == 5
    assert model.get_layer("b2_d1").units == 3
    assert model.count_params() == (6 * 5 + 5) + (5 * 5 + 5) + (5 * 3 + 3) + (3 * 3 + 3) + (3 + 1)


def test_residual_block_default_graph_builds_on_digits():
    run = validate(compose(["model=graph"]))
    model = build_model(run.model, DataSpec((8, 8, 1), "multiclass", 10), REG)
    assert {"res1_sum", "res2_sum", "res1_conv1"} <= {layer.name for layer in model.layers}
    assert model.output_shape == (None, 10)


@pytest.mark.parametrize(
    ("nodes", "blocks", "message"),
    [
        (
            {
                "a": {"layer": "Dense", "args": {"units": 2}, "inputs": "b"},
                "b": {"layer": "Dense", "args": {"units": 2}, "inputs": "a"},
                "out": {"layer": "Dense", "args": {"units": 1}, "inputs": "a"},
            },
            {},
            "model.nodes.a: cycle a -> b -> a",
        ),
        ({"out": {"block": "loop"}}, {"loop": {"nodes": {"inner": {"block": "loop"}}}}, "cycle of blocks loop -> loop"),
        (
            {
                "h": {"layer": "Dense", "args": {"units": 2}, "inputs": "xx"},
                "out": {"layer": "Dense", "args": {"units": 1}},
            },
            {},
            "model.nodes.h.inputs: unknown input 'xx' (did you mean x?)",
        ),
        (
            {"out": {"layer": "Dens", "args": {"units": 1}}},
            {},
            "model.nodes.out.layer=Dens: not a keras.layers class (did you mean Dense?)",
        ),
        (
            {"h": {"layer": "Dense", "args": {"units": "$width"}}, "out": {"layer": "Dense", "args": {"units": 1}}},
            {},
            "model.nodes.h: unknown parameter $width",
        ),
        (
            {"out": {"layer": "Dense", "args": {"units": 3}}},
            {},
            "model.outputs.out: its node gives 3 values per example, the data's regression target needs 1",
        ),
    ],
)
def test_graph_errors_name_the_node(nodes, blocks, message):
    with pytest.raises(ConfigError) as err:
        build_model(graph(nodes, blocks=blocks), VECTORS, REG)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_merge_of_incompatible_shapes_names_the_node():
    cfg = graph(
        {
            "wide": {"layer": "Dense", "args": {"units": 4}, "inputs": "x"},
            "seq": {"layer": "Reshape", "args": {"target_shape": [3, 2]}, "inputs": "x"},
            "merged": {"merge": "concatenate", "inputs": ["wide", "seq"]},
            "out": {"layer": "Dense", "args": {"units": 1}},
        }
    )
    with pytest.raises(
        ConfigError, match=r"^model\.nodes\.merged: cannot concatenate shapes \(None, 4\), \(None, 3, 2\)"
    ):
        build_model(cfg, VECTORS, REG)


def test_zoo_and_application_sub_models_are_layers():
    spec = DataSpec((32, 32, 3), "multiclass", 3)
    cfg = graph(
        {
            "zoo": {"model": {"name": "separable_cnn", "padding": "same"}, "inputs": "x"},
            "out": {"layer": "Dense", "args": {"units": 3}},
        }
    )
    model = build_model(cfg, spec, REG)
    assert model.get_layer("zoo").get_layer("block1_sepconv1").filters == 32  # conf/model/separable_cnn.yaml's stack
    app = {"application": "MobileNetV2", "weights": None, "args": {"alpha": 0.35, "pooling": "avg"}}
    model = build_model(
        graph({"base": {"model": app, "inputs": "x"}, "out": {"layer": "Dense", "args": {"units": 3}}}), spec, REG
    )
    assert model.get_layer("base").output_shape == (None, 1280)
    with pytest.raises(ConfigError, match=r"model\.nodes\.base\.model\.application=Xceptoin: .*did you mean Xception"):
        build_model(
            graph(
                {
                    "base": {"model": {"application": "Xceptoin"}, "inputs": "x"},
                    "out": {"layer": "Dense", "args": {"units": 3}},
                }
            ),
            spec,
            REG,
        )


def test_input_names_must_be_the_datas():
    data = load_dataset(
        QAConfig(
            num_samples=20, num_answers=4, text_vocab_size=50, question_vocab_size=20, text_length=8, question_length=4
        ),
        0,
    )
    cfg = graph(
        {
            "t": {"layer": "Embedding", "args": {"input_dim": 50, "output_dim": 2}, "inputs": "text"},
            "answer": {"layer": "Dense", "args": {"units": 4}},
        },
        inputs={"text": {}, "qestion": {}},
        outputs={"answer": {}},
    )
    with pytest.raises(
        ConfigError, match=r"^model\.inputs\.qestion: the data has no input 'qestion' \(did you mean question\?\)"
    ):
        build_model(cfg, data.spec, REG)


def test_multi_io_datasets_are_dicts_of_consistent_splits():
    cases = {
        load_qa: (
            QAConfig(num_samples=60, num_answers=6, text_length=10, question_length=5),
            {"text", "question"},
            {"answer"},
        ),
        load_posts: (PostsConfig(num_samples=60, length=30, vocab_size=100), {"posts"}, {"age", "income", "gender"}),
        load_sentence_pairs: (SentencePairsConfig(num_samples=60, dim=4), {"left", "right"}, {"similar"}),
        load_camera_pairs: (CameraPairsConfig(num_samples=60, image_size=8), {"left", "right"}, {"object"}),
    }
    for load, (cfg, inputs, outputs) in cases.items():
        data = load(cfg, 0)
        for split in ("train", "val", "test"):
            x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
            assert set(x) == inputs and set(y) == outputs
            assert {len(a) for a in [*x.values(), *y.values()]} == {data.size(split)}
            for name, array in x.items():
                assert array.shape[1:] == data.spec.inputs[name].shape
        assert data.size("train") + data.size("val") + data.size("test") == 60
    limited = load_posts(PostsConfig(num_samples=60, length=30, vocab_size=100, max_samples=5), 0)
    assert limited.size("train") == 5 and limited.y_train["age"].shape == (5, 1)


def test_qa_answer_is_the_planted_marker_the_question_asks_for():
    data = load_qa(QAConfig(num_samples=50, num_answers=10, text_vocab_size=100, text_length=12, question_length=4), 0)
    for text, question, answer in zip(
        data.x_train["text"], data.x_train["question"], data.y_train["answer"], strict=True
    ):
        planted = sorted(t - 1 for t in set(text) if t <= 10)
        asks_upper = 2 in question
        assert answer == planted[1 if asks_upper else 0]


def test_dict_batches_gather_the_same_examples():
    from dltool.training.batches import epoch_batches

    x = {"a": np.arange(10.0)[:, None], "b": np.arange(10.0)[:, None] * 2}
    y = {"out": np.arange(10)}
    batches, steps = epoch_batches(x, y, batch_size=4, seed=0, epochs=(0, 1))
    assert steps == 3
    seen = []
    for bx, by in batches.take(3):
        np.testing.assert_array_equal(bx["b"].numpy()[:, 0], 2 * bx["a"].numpy()[:, 0])
        np.testing.assert_array_equal(by["out"].numpy(), bx["a"].numpy()[:, 0])
        seen += list(by["out"].numpy())
    assert sorted(seen) == list(range(10))


def test_diagram_shows_every_input_output_and_the_nested_base():
    from dltool.data import data_spec
    from dltool.plots import model_dot

    run = validate(compose(["experiment=dual_camera", "data.image_size=32"]))
    model = build_model(run.model, data_spec(run.data), REG)
    dot = model_dot(model).to_string()
    for name in ("left", "right", "object", "merged_features", "camera_base"):
        assert name in dot
    assert "block_1_expand" not in dot  # MobileNetV2's 150 layers: one box
    small = ["~model.shared.camera_base.model", "+model.shared.camera_base.model={name: separable_cnn}"]
    run = validate(compose(["experiment=dual_camera", "data.image_size=32", *small]))
    dot = model_dot(build_model(run.model, data_spec(run.data), REG)).to_string()
    assert "block1_sepconv1" in dot and "left" in dot and "object" in dot  # a small base: drawn expanded


def _input(shape):
    from dltool.data.base import InputSpec

    return InputSpec(shape)


def _out(task="regression", num_classes=1):
    from dltool.data.base import OutputSpec

    return OutputSpec(task, num_classes)


def test_docs_inception_and_residual_blocks_build():
    """The blocks of docs/graph.md, instantiated with parameters: four branches concatenated."""
    import re
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "graph.md").read_text()
    yaml_text = re.search(r"```yaml\n(blocks:\n.*?)```", doc, re.S).group(1)
    declared = OmegaConf.create(yaml_text)
    nodes = {
        **declared.nodes,
        "inc": {"block": "inception", "params": {"filters": 8}},
        "pool": {"layer": "GlobalAveragePooling2D"},
        "output": {"layer": "Dense", "args": {"units": 10, "activation": "softmax"}},
    }
    cfg = graph(OmegaConf.to_container(OmegaConf.create(nodes)), {"output": {}}, {"image": {}}, blocks=declared.blocks)
    model = build_model(cfg, DataSpec((8, 8, 1), "multiclass", 10), REG)
    assert model.get_layer("inc_out").output.shape == (None, 8, 8, 32)  # 4 branches x 8 filters
    assert model.get_layer("res2_conv1").filters == 16 and model.get_layer("inc_d").filters == 8


def test_graph_targets_obey_allowed_targets():
    overrides = ["model=graph", "allowed_targets=[keras.]", "+model.shared.mine={_target_: os.path.join}"]
    with pytest.raises(
        ConfigError, match=r"^model\.shared\.mine\._target_=os\.path\.join: not allowed by allowed_targets"
    ):
        validate(compose(overrides))
    cfg = graph({"out": {"_target_": "keras.layers.Dense", "args": {"units": 1}, "inputs": "x"}})
    assert build_model(cfg, VECTORS, REG).get_layer("out").units == 1


def test_a_node_no_output_uses_is_checked_too():
    nodes = {"out": {"layer": "Dense", "args": {"units": 1}, "inputs": "x"}, "stray": {"layer": "Dense", "inputs": "y"}}
    with pytest.raises(ConfigError, match=r"^model\.nodes\.stray\.inputs: unknown input 'y'"):
        build_model(graph(nodes), VECTORS, REG)
