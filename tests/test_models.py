"""Model builders: exact parameter counts of the seeds and the paper, heads, regularization layers,
augmentation, safe-mode reloading, config errors and the conf/model option files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest
from omegaconf import OmegaConf

from dltool.config.registry import defaults, describe, resolve
from dltool.config.regularization import AugmentationConfig, RegularizationConfig
from dltool.config.schemas import SCHEMAS
from dltool.errors import ConfigError
from dltool.models import ZeroPadShortcut, build_model, builder, output_activation
from dltool.models.cnn import CNNConfig, ConvBlockConfig
from dltool.models.layers import activation_layer, dropout_layer, initializer, kernel_regularizer
from dltool.models.mlp import MLPConfig
from dltool.models.resnet import ResNetConfig

try:
    from dltool.data import DataSpec
except ImportError:  # the data package is written in parallel: a stand-in with the same fields

    @dataclasses.dataclass(frozen=True)
    class DataSpec:  # type: ignore[no-redef]
        input_shape: tuple[int, ...]
        task: str
        num_classes: int
        class_names: tuple[str, ...] | None = None


MODEL_CONF = Path(__file__).resolve().parents[1] / "conf" / "model"
MNIST = DataSpec((28, 28, 1), "multiclass", 10)
CIFAR = DataSpec((32, 32, 3), "multiclass", 10)
DIGITS = DataSpec((8, 8, 1), "multiclass", 10)
POINTS = DataSpec((2,), "binary", 1)
NO_REG = RegularizationConfig()


def option(name: str):
    """Option ``name`` as ``model=<name>`` composes it (conf/model/<name>.yaml, else its schema's defaults) merged
    into its schema, as a dataclass instance."""
    path = MODEL_CONF / f"{name}.yaml"
    raw = OmegaConf.load(path) if path.is_file() else OmegaConf.create(defaults(SCHEMAS["model"][name], name))
    schema = SCHEMAS["model"][raw.name]
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))


def layer_types(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# --------------------------------------------------------------------------- registry and option files
def test_every_model_is_named_once_by_its_schema_which_names_its_builder() -> None:
    for name, schema in SCHEMAS["model"].items():
        assert schema().name == name  # the option's name is its schema's name default, nowhere else
        assert callable(builder(name)), name
        for hook in (getattr(schema, key, None) for key in ("spec_change", "note", "combiner")):
            assert hook is None or callable(resolve(hook)), (name, hook)
    assert [n for n, s in SCHEMAS["model"].items() if s.whole_model] == ["gan", "graph"]
    assert [n for n, s in SCHEMAS["model"].items() if getattr(s, "combiner", None)] == ["mlp"]  # tables, named data


@pytest.mark.parametrize("path", sorted(MODEL_CONF.glob("*.yaml")), ids=lambda p: p.stem)
def test_option_file_has_header_every_key_and_merges(path: Path) -> None:
    text = path.read_text()
    assert text.startswith("# ")
    assert "dltool train model=" in text.split("\nname:")[0]
    raw = OmegaConf.load(path)
    assert next(iter(raw)) == "name"
    schema = SCHEMAS["model"][raw.name]
    assert set(raw) == {f.name for f in dataclasses.fields(schema)}
    for block in raw.get("blocks", []) if schema is CNNConfig else []:
        assert set(block) == {f.name for f in dataclasses.fields(ConvBlockConfig)}
    cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))
    assert type(cfg) is schema


FILE_LESS = sorted(set(SCHEMAS["model"]) - {p.stem for p in MODEL_CONF.glob("*.yaml")})


@pytest.mark.parametrize("name", FILE_LESS)
def test_option_without_file_has_its_header_and_example_in_its_schema(name: str) -> None:
    schema = SCHEMAS["model"][name]
    assert describe(schema) and not describe(schema).startswith(schema.__name__)
    assert f"dltool train model={name}" in schema.__doc__.split("Example:")[1]
    raw = OmegaConf.create(defaults(schema, name))
    assert next(iter(raw)) == "name"
    assert set(raw) == {f.name for f in dataclasses.fields(schema)}
    for block in raw.get("blocks", []) if schema is CNNConfig else []:
        assert set(block) == {f.name for f in dataclasses.fields(ConvBlockConfig)}
    cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))
    assert type(cfg) is schema


def test_option_files_present() -> None:
    assert {p.stem for p in MODEL_CONF.glob("*.yaml")} >= {"cnn_cifar", "perceptron"}  # presets of other schemas
    assert set(SCHEMAS["model"]) >= {"mlp", "cnn", "resnet"} and len(FILE_LESS) >= 13
    assert option("mlp") == MLPConfig()  # the default model is the schema's default


# --------------------------------------------------------------------------- exact parameter counts
def test_cnn_is_the_seeds_mnist_table() -> None:
    model = build_model(option("cnn"), MNIST, NO_REG)
    assert model.get_layer("block1_conv1").count_params() == 32 * (3 * 3 * 1 + 1) == 320
    assert model.get_layer("block1_pool").output.shape[1:] == (14, 14, 32)
    assert model.get_layer("flatten").output.shape[1:] == (6272,)
    assert model.get_layer("hidden1").count_params() == 6272 * 128 + 128 == 802_944
    assert model.get_layer("output").count_params() == 128 * 10 + 10 == 1_290
    assert model.count_params() == 804_554
    assert model.get_layer("output").get_config()["activation"] == "softmax"


def test_cnn_cifar_is_the_tensorflow_tutorial() -> None:
    model = build_model(option("cnn_cifar"), CIFAR, NO_REG)
    expected = {
        "block1_conv1": 32 * (3 * 3 * 3 + 1),  # 896
        "block2_conv1": 64 * (3 * 3 * 32 + 1),  # 18,496
        "block3_conv1": 64 * (3 * 3 * 64 + 1),  # 36,928
        "hidden1": 4 * 4 * 64 * 64 + 64,  # 65,600
        "output": 64 * 10 + 10,  # 650
    }
    for name, count in expected.items():
        assert model.get_layer(name).count_params() == count, name
    assert model.get_layer("flatten").output.shape[1:] == (1024,)
    assert model.count_params() == sum(expected.values()) == 122_570


# depth: (paper's millions, A total, A trainable, B total, B trainable)
RESNETS = {
    20: (0.27, 271_098, 269_722, 274_042, 272_474),
    32: (0.46, 466_426, 464_154, 469_370, 466_906),
    44: (0.66, 661_754, 658_586, 664_698, 661_338),
    56: (0.85, 857_082, 853_018, 860_026, 855_770),
    110: (1.7, 1_736_058, 1_727_962, 1_739_002, 1_730_714),
}


@pytest.mark.parametrize("depth", sorted(RESNETS))
def test_resnet_parameters_match_the_paper(depth: int) -> None:
    paper, a_total, a_trainable, b_total, b_trainable = RESNETS[depth]
    digits = 1 if depth == 110 else 2
    n = (depth - 2) // 6
    for shortcut, total, trainable in (("A", a_total, a_trainable), ("B", b_total, b_trainable)):
        model = build_model(ResNetConfig(depth=depth, shortcut=shortcut), CIFAR, NO_REG)
        assert (model.count_params(), trainable_count(model)) == (total, trainable), shortcut
        if shortcut == "A":  # the paper's CIFAR nets; it counts learned weights only
            assert round(trainable / 1e6, digits) == paper
        else:  # two 1x1 projections (16->32, 32->64) and their BN
            assert trainable - a_trainable == 16 * 32 + 32 * 64 + 2 * (32 + 64) == 2_752
        # untrained: moving mean and variance of the BN channels (stem 16, 2n per stage; B: projections)
        bn_channels = 16 + 2 * n * (16 + 32 + 64) + (0 if shortcut == "A" else 32 + 64)
        assert total - trainable == 2 * bn_channels
    assert sum(t == "Conv2D" for t in layer_types(model)) == 1 + 2 * 3 * n + 2  # + B's two projections


def test_resnet20_by_hand() -> None:
    # Bias-free convolutions, BN (gamma, beta trainable; mean, variance not), shortcut A has no weights.
    convs = 3 * 3 * 3 * 16 + 6 * 3 * 3 * 16 * 16 + 3 * 3 * 16 * 32 + 5 * 3 * 3 * 32 * 32
    convs += 3 * 3 * 32 * 64 + 5 * 3 * 3 * 64 * 64
    bn_channels = 16 * 7 + 32 * 6 + 64 * 6
    head = 64 * 10 + 10
    model = build_model(option("resnet"), CIFAR, NO_REG)
    assert trainable_count(model) == convs + 2 * bn_channels + head == 269_722
    assert model.count_params() == convs + 4 * bn_channels + head == 271_098
    assert model.get_layer("pool").output.shape[1:] == (64,)
    assert model.get_layer("stage3_block3_add").output.shape[1:] == (8, 8, 64)


def test_airbench_by_hand_matches_airbench94() -> None:
    # airbench94's PyTorch net: whitening stem 3->24 (2x2, bias), groups 24->64, 64->256, 256->256 of two
    # bias-free 3x3 convs, BN with frozen weight and learned bias, Linear(256, 10, bias=False)
    convs = (2 * 2 * 3 * 24 + 24) + 3 * 3 * (24 * 64 + 64 * 64 + 64 * 256 + 256 * 256 + 256 * 256 + 256 * 256)
    bn_channels = 2 * (64 + 256 + 256)
    airbench94_trainable = convs + bn_channels + 256 * 10
    assert airbench94_trainable == 1_971_640
    model = build_model(option("airbench"), CIFAR, NO_REG)
    assert trainable_count(model) == airbench94_trainable + 10  # + the output layer's bias
    assert model.count_params() - trainable_count(model) == 2 * bn_channels  # moving mean and variance
    shapes = [model.get_layer(f"group{g}_pool").output.shape[1:3] for g in (1, 2, 3)]
    assert shapes == [(15, 15), (7, 7), (3, 3)]  # 32 -> 31 (2x2 stem, valid) -> halved thrice
    assert not model.get_layer("group1_1_bn").scale and model.get_layer("group1_1_bn").momentum == 0.4


def test_mlp_on_digits_by_hand() -> None:
    model = build_model(option("mlp"), DIGITS, NO_REG)
    assert model.count_params() == (64 * 64 + 64) + (64 * 64 + 64) + (64 * 10 + 10) == 8_970
    assert layer_types(model) == [
        "InputLayer", "Flatten", "Dense", "Activation", "Dense", "Activation", "Dense",
    ]  # fmt: skip


def test_perceptron_is_input_to_head() -> None:
    model = build_model(option("perceptron"), POINTS, NO_REG)
    assert model.count_params() == 2 * 1 + 1
    assert layer_types(model) == ["InputLayer", "Dense"]
    assert model.get_layer("output").get_config()["activation"] == "sigmoid"
    assert build_model(option("perceptron"), DIGITS, NO_REG).count_params() == 64 * 10 + 10


# --------------------------------------------------------------------------- heads
@pytest.mark.parametrize(
    "task, classes, activation, units",
    [("multiclass", 7, "softmax", 7), ("binary", 1, "sigmoid", 1), ("regression", 1, "linear", 1)],
)
def test_output_layer_per_task(task: str, classes: int, activation: str, units: int) -> None:
    spec = DataSpec((5,), task, classes)
    assert output_activation(MLPConfig(), spec) == activation
    assert output_activation(MLPConfig(output_activation="tanh"), spec) == "tanh"
    head = build_model(MLPConfig(hidden_units=[4]), spec, NO_REG).get_layer("output")
    assert (head.units, head.get_config()["activation"]) == (units, activation)
    assert head.dtype_policy.name == "float32"


def test_head_stays_float32_under_mixed_precision() -> None:
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        model = build_model(ResNetConfig(depth=8, width=4), DataSpec((8, 8, 3), "multiclass", 3), NO_REG)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert model.get_layer("stage2_block1_conv1").compute_dtype == "float16"
    assert model.get_layer("stage2_block1_shortcut").compute_dtype == "float16"
    assert model.get_layer("output").compute_dtype == "float32"
    out = model(np.random.default_rng(0).random((2, 8, 8, 3), dtype="float32"), training=False)
    assert out.dtype == "float32"
    np.testing.assert_allclose(np.sum(out, axis=-1), 1.0, rtol=1e-5)


# --------------------------------------------------------------------------- regularization layers
def test_plain_models_have_no_regularization_layers() -> None:
    for model in (build_model(MLPConfig(), DIGITS, NO_REG), build_model(option("cnn"), MNIST, NO_REG)):
        types = layer_types(model)
        assert not {"FusedBatchNormalization", "BatchNormalization", "Dropout", "AlphaDropout"} & set(types)
        assert all(getattr(layer, "kernel_regularizer", None) is None for layer in model.layers)
        assert model.losses == []


def test_batch_norm_and_dropout_in_mlp() -> None:
    reg = RegularizationConfig(batch_norm=True, dropout=0.3)
    model = build_model(MLPConfig(hidden_units=[16, 8]), POINTS, reg)
    assert layer_types(model) == [
        "InputLayer",
        "Dense", "FusedBatchNormalization", "Activation", "Dropout",
        "Dense", "FusedBatchNormalization", "Activation", "Dropout",
        "Dense",
    ]  # fmt: skip
    assert model.get_layer("hidden1_dropout").rate == 0.3
    assert not model.get_layer("hidden1").use_bias  # BN's beta replaces the bias
    # 2*16 + BN 4*16 + 16*8 + BN 4*8 + 8*1+1
    assert model.count_params() == 2 * 16 + 4 * 16 + 16 * 8 + 4 * 8 + 8 + 1


def test_alpha_dropout_with_selu() -> None:
    reg = RegularizationConfig(dropout=0.1, dropout_type="alpha")
    model = build_model(MLPConfig(activation="selu", hidden_units=[8]), POINTS, reg)
    assert "AlphaDropout" in layer_types(model) and "Dropout" not in layer_types(model)
    assert model.get_layer("hidden1").get_config()["kernel_initializer"]["class_name"] == "LecunNormal"


def test_batch_norm_dropout_and_l2_in_cnn() -> None:
    reg = RegularizationConfig(batch_norm=True, dropout=0.5, l2=1e-3)
    model = build_model(option("cnn_cifar"), CIFAR, reg)
    types = layer_types(model)
    assert types.count("FusedBatchNormalization") == 3 + 1  # three convolutions, one hidden Dense
    assert types.count("Dropout") == 1  # after hidden Dense layers only
    penalized = [layer.name for layer in model.layers if getattr(layer, "kernel_regularizer", None)]
    assert penalized == ["block1_conv1", "block2_conv1", "block3_conv1", "hidden1", "output"]
    assert isinstance(model.get_layer("block1_conv1").kernel_regularizer, keras.regularizers.L2)
    model(np.zeros((1, 32, 32, 3), "float32"))
    assert len(model.losses) == 5


def test_resnet_uses_l2_from_regularization() -> None:
    model = build_model(
        ResNetConfig(depth=8, width=4), DataSpec((8, 8, 3), "multiclass", 3), RegularizationConfig(l2=1e-4)
    )
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 7 and all(isinstance(c.kernel_regularizer, keras.regularizers.L2) for c in convs)
    assert all(c.get_config()["kernel_initializer"]["class_name"] == "HeNormal" for c in convs)


def test_kernel_regularizer_kinds() -> None:
    assert kernel_regularizer(RegularizationConfig()) is None
    assert type(kernel_regularizer(RegularizationConfig(l1=0.01))) is keras.regularizers.L1
    assert type(kernel_regularizer(RegularizationConfig(l2=0.01))) is keras.regularizers.L2
    both = kernel_regularizer(RegularizationConfig(l1=0.01, l2=0.02))
    assert type(both) is keras.regularizers.L1L2
    assert both.get_config() == pytest.approx({"l1": 0.01, "l2": 0.02})
    assert dropout_layer(RegularizationConfig()) is None


def test_activations_and_their_alpha() -> None:
    leaky = build_model(MLPConfig(activation="leaky_relu", activation_alpha=0.2), POINTS, NO_REG)
    layer = leaky.get_layer("hidden1_act")
    assert isinstance(layer, keras.layers.LeakyReLU) and layer.negative_slope == pytest.approx(0.2)
    assert np.allclose(layer(np.array([[-1.0, 2.0]], "float32")), [[-0.2, 2.0]])
    elu = activation_layer("elu", 0.5)
    assert isinstance(elu, keras.layers.ELU) and elu.alpha == pytest.approx(0.5)
    assert activation_layer("gelu", 0.5).get_config()["activation"] == "gelu"
    cnn = build_model(dataclasses.replace(option("cnn"), activation="leaky_relu", activation_alpha=0.3), MNIST, NO_REG)
    assert cnn.get_layer("block1_conv1_act").negative_slope == pytest.approx(0.3)


@pytest.mark.parametrize(
    "activation, init",
    [("relu", "he_normal"), ("swish", "he_normal"), ("selu", "lecun_normal"), ("tanh", "glorot_uniform")],
)
def test_auto_initializer(activation: str, init: str) -> None:
    assert initializer(MLPConfig(activation=activation)) == init
    assert initializer(MLPConfig(activation=activation, kernel_initializer="orthogonal")) == "orthogonal"


def test_unknown_initializer_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"model\.kernel_initializer=nope"):
        build_model(MLPConfig(kernel_initializer="nope"), POINTS, NO_REG)


# --------------------------------------------------------------------------- augmentation
def augmented(**kwargs: object) -> RegularizationConfig:
    return RegularizationConfig(augmentation=AugmentationConfig(**kwargs))


@pytest.mark.parametrize(
    "kwargs, mode",
    [
        ({"horizontal_flip": True}, "horizontal"),
        ({"vertical_flip": True}, "vertical"),
        ({"horizontal_flip": True, "vertical_flip": True}, "horizontal_and_vertical"),
    ],
)
def test_flip_modes(kwargs: dict, mode: str) -> None:
    model = build_model(option("cnn"), MNIST, augmented(**kwargs))
    assert model.get_layer("augment_flip").mode == mode
    assert "RandomAffine" not in layer_types(model)


def test_augmentation_only_for_images_and_only_in_training() -> None:
    reg = augmented(horizontal_flip=True, translation=0.2)
    assert "RandomAffine" not in layer_types(build_model(MLPConfig(), POINTS, reg))
    assert "RandomAffine" not in layer_types(build_model(option("cnn"), MNIST, NO_REG))
    keras.utils.set_random_seed(0)
    model = build_model(CNNConfig(dense_units=[8]), DataSpec((12, 12, 1), "multiclass", 3), reg)
    assert layer_types(model)[1:3] == ["RandomAffine", "Conv2D"]
    affine = model.get_layer("augment_affine")
    assert affine.height_shift == affine.width_shift == 0.2 and affine.rotation == affine.zoom == 0
    assert affine.horizontal_flip and not affine.vertical_flip
    plain = build_model(CNNConfig(dense_units=[8]), DataSpec((12, 12, 1), "multiclass", 3), NO_REG)
    for layer in plain.layers:
        model.get_layer(layer.name).set_weights(layer.get_weights())
    x = np.random.default_rng(0).random((16, 12, 12, 1), dtype="float32")
    expected = plain(x, training=False)
    np.testing.assert_allclose(model(x, training=False), expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5)
    assert not np.allclose(model(x, training=True), expected)


# --------------------------------------------------------------------------- saving
@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_resnet_reloads_in_safe_mode(tmp_path: Path, shortcut: str) -> None:
    reg = RegularizationConfig(l2=1e-4, augmentation=AugmentationConfig(horizontal_flip=True))
    model = build_model(ResNetConfig(depth=8, width=4, shortcut=shortcut), DataSpec((8, 8, 3), "multiclass", 5), reg)
    x = np.random.default_rng(1).random((4, 8, 8, 3), dtype="float32")
    path = tmp_path / "resnet.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert loaded.count_params() == model.count_params()


def test_zero_pad_shortcut() -> None:
    layer = ZeroPadShortcut(4, 2)
    x = np.arange(1 * 3 * 3 * 2, dtype="float32").reshape(1, 3, 3, 2)
    y = keras.ops.convert_to_numpy(layer(x))
    assert y.shape == (1, 2, 2, 4) == layer.compute_output_shape((1, 3, 3, 2))
    np.testing.assert_array_equal(y[..., :2], x[:, ::2, ::2, :])
    np.testing.assert_array_equal(y[..., 2:], 0)
    assert ZeroPadShortcut.from_config(layer.get_config()).get_config() == layer.get_config()


# --------------------------------------------------------------------------- errors
def test_resnet_depth_must_be_6n_plus_2() -> None:
    with pytest.raises(ConfigError) as err:
        build_model(ResNetConfig(depth=21), CIFAR, NO_REG)
    assert str(err.value) == "model.depth=21: ResNet depth must be 6n+2 (20, 32, 44, 56, 110)"


@pytest.mark.parametrize("name", ["cnn", "resnet"])
def test_image_models_reject_vectors(name: str) -> None:
    with pytest.raises(ConfigError, match=rf"model={name} needs image inputs.*\(2,\)"):
        build_model(SCHEMAS["model"][name](), POINTS, NO_REG)


def test_pooling_too_deep_names_the_block() -> None:
    cfg = CNNConfig(blocks=[ConvBlockConfig(pool=2) for _ in range(4)])
    with pytest.raises(
        ConfigError,
        match=r"model\.blocks\[3\]\.pool=2: a pooling of 2x2 does not fit the 1x1 feature map .*input 8x8x1",
    ):
        build_model(cfg, DIGITS, NO_REG)
    valid = CNNConfig(blocks=[ConvBlockConfig(padding="valid", pool=0, kernel_size=5) for _ in range(2)])
    with pytest.raises(ConfigError, match=r"model\.blocks\[1\]\.kernel_size=5"):
        build_model(valid, DIGITS, NO_REG)


def test_unknown_model_name() -> None:
    with pytest.raises(ConfigError) as err:
        build_model(dataclasses.replace(ResNetConfig(), name="resnt"), CIFAR, NO_REG)
    assert str(err.value) == (
        "model=resnt: unknown model (mlp, cnn, resnet, airbench, lenet5, alexnet, vgg, inception, xception, "
        "separable_cnn, mobilenet_v2, rnn, conv1d, transformer, autoencoder, transfer, gan, graph) "
        "(did you mean resnet?)"
    )


def test_fused_batch_norm_trains_as_keras_batch_norm_does() -> None:
    import tensorflow as tf

    from dltool.models.layers import FusedBatchNormalization

    x = tf.constant(np.random.default_rng(0).normal(2.0, 3.0, (8, 5, 5, 4)).astype("float32"))
    fused, plain = FusedBatchNormalization(momentum=0.9), keras.layers.BatchNormalization(momentum=0.9)
    fused.build(x.shape), plain.build(x.shape)
    for layer in (fused, plain):
        layer.gamma.assign(np.linspace(0.5, 2.0, 4)), layer.beta.assign(np.linspace(-1.0, 1.0, 4))
    grads = []
    for layer in (fused, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * tf.range(1.0, 5.0))
        grads.append((y, *tape.gradient(loss, [x, layer.gamma, layer.beta])))
    for ours, theirs in zip(*grads, strict=True):  # output, d/dx, d/dgamma, d/dbeta
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fused.moving_mean.numpy(), plain.moving_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(fused.moving_variance.numpy(), plain.moving_variance.numpy(), rtol=1e-5)
    np.testing.assert_allclose(fused(x, training=False).numpy(), plain(x, training=False).numpy(), rtol=1e-5, atol=1e-5)
    assert "FusedBatchNormV3" in str(
        tf.function(lambda t: fused(t, training=True)).get_concrete_function(x).graph.as_graph_def()
    )


def test_models_with_batch_norm_save_and_load_safely(tmp_path: Path) -> None:
    from dltool.config import compose, validate

    run = validate(compose(["model=resnet", "model.depth=8"]))
    model = build_model(run.model, DataSpec((16, 16, 3), "multiclass", 10), run.regularization)
    assert any(type(layer).__name__ == "FusedBatchNormalization" for layer in model.layers)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
