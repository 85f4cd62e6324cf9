"""The model zoo: parameter parity with the published figures (Keras Applications' table at
224x224x3 and 1000 classes, torchvision for the models Keras lacks, the seeds' own models),
builds on small images, and configuration errors. Each ImageNet-size model is built once."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from dltool.config.regularization import RegularizationConfig
from dltool.data import DataSpec
from dltool.data.sequences import SequencesConfig, TimeSeriesConfig, load_sequences, load_timeseries
from dltool.errors import ConfigError
from dltool.models import build_model, model_spec
from dltool.models.alexnet import AlexNetConfig
from dltool.models.autoencoder import AutoencoderConfig
from dltool.models.inception import InceptionConfig, InceptionModuleConfig
from dltool.models.lenet import LeNet5Config
from dltool.models.mlp import MLPConfig
from dltool.models.mobilenet import MobileNetV2Config, make_divisible
from dltool.models.resnet import ResNetConfig
from dltool.models.sequence import RNNConfig
from dltool.models.vgg import VGGConfig
from dltool.models.xception import SeparableCNNConfig, XceptionConfig
from dltool.training.build import param_counts
from tests.conftest import dltool_in_process
from tests.test_models import option

IMAGENET = DataSpec((224, 224, 3), "multiclass", 1000)
NO_REG = RegularizationConfig()

# (config, total parameters as Keras counts them, source of the figure)
PUBLISHED = [
    (VGGConfig(depth=11), 132_863_336, "torchvision vgg11"),
    (VGGConfig(depth=13), 133_047_848, "torchvision vgg13"),
    (VGGConfig(depth=19), 143_667_240, "Keras VGG19"),
    (ResNetConfig(depth=50), 25_636_712, "Keras ResNet50"),
    (ResNetConfig(depth=101), 44_707_176, "Keras ResNet101"),
    (ResNetConfig(depth=152), 60_419_944, "Keras ResNet152"),
    (ResNetConfig(depth=50, version=2), 25_613_800, "Keras ResNet50V2"),
    (ResNetConfig(depth=101, version=2), 44_675_560, "Keras ResNet101V2"),
    (ResNetConfig(depth=152, version=2), 60_380_648, "Keras ResNet152V2"),
    (XceptionConfig(), 22_910_480, "Keras Xception"),
    (MobileNetV2Config(), 3_538_984, "Keras MobileNetV2"),
    (MobileNetV2Config(alpha=0.35), 1_691_208, "Keras MobileNetV2 alpha 0.35"),
    (AlexNetConfig(), 62_378_344, "AlexNet, single tower, pooling after C7"),
]


@pytest.mark.parametrize(("cfg", "expected", "source"), PUBLISHED, ids=[p[2] for p in PUBLISHED])
def test_parameters_match_the_published_figures(cfg, expected: int, source: str) -> None:
    assert build_model(cfg, IMAGENET, NO_REG).count_params() == expected


# torchvision counts only trainable parameters (no batch-norm moving statistics) and has no conv biases
@pytest.mark.parametrize(("depth", "expected"), [(18, 11_689_512), (34, 21_797_672)])
def test_basic_block_resnets_match_torchvision(depth: int, expected: int) -> None:
    model = build_model(ResNetConfig(depth=depth, use_bias=False), IMAGENET, NO_REG)
    assert param_counts(model)["trainable"] == expected


def test_show_json_gives_vgg16s_published_count(tmp_path) -> None:
    result = dltool_in_process(
        "show",
        "model=vgg",
        "model.depth=16",
        "data=synthetic",
        "data.input_shape=[224,224,3]",
        "data.num_classes=1000",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["params"] == {"trainable": 138_357_544, "total": 138_357_544}


def test_alexnet_as_the_seeds_table_has_no_pooling_after_c7() -> None:
    model = build_model(AlexNetConfig(final_pool=False), IMAGENET, NO_REG)
    assert model.get_layer("c7").output.shape[1:] == (13, 13, 256)
    assert model.get_layer("f8").count_params() == 13 * 13 * 256 * 4096 + 4096
    assert model.count_params() == 201_838_952


def test_lenet5_by_hand() -> None:
    model = build_model(LeNet5Config(), DataSpec((28, 28, 1), "multiclass", 10), NO_REG)
    counts = {name: model.get_layer(name).count_params() for name in ("c1", "c3", "c5", "f6", "output")}
    assert counts == {"c1": 156, "c3": 2_416, "c5": 48_120, "f6": 10_164, "output": 850}
    assert model.count_params() == 61_706
    assert model.get_layer("c5").output.shape[1:] == (1, 1, 120)
    assert type(model.get_layer("s2")).__name__ == "AveragePooling2D"


@pytest.mark.parametrize("padding", ["auto", "valid"])
def test_lenet5_on_32x32_follows_the_table(padding: str) -> None:
    model = build_model(LeNet5Config(c1_padding=padding), DataSpec((32, 32, 1), "multiclass", 10), NO_REG)
    assert model.get_layer("c1").output.shape[1:] == (28, 28, 6)
    assert model.get_layer("c5").output.shape[1:] == (1, 1, 120)
    assert model.count_params() == 61_706


def test_lenet5_pads_32x32_only_when_asked() -> None:
    model = build_model(LeNet5Config(c1_padding="same"), DataSpec((32, 32, 1), "multiclass", 10), NO_REG)
    assert model.get_layer("c1").output.shape[1:] == (32, 32, 6)
    assert model.count_params() == 91_946


def test_show_says_which_lenet5_c1(tmp_path) -> None:
    result = dltool_in_process("show", "model=lenet5", "data=synthetic", "data.input_shape=[32,32,1]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Total params: 61,706" in result.stdout
    assert "LeNet-5: C1 padding 'valid' on the 32x32 input (as the table)" in result.stdout


def test_separable_cnn_equals_the_seeds_sequential_model() -> None:
    from keras import layers

    seed = keras.Sequential(
        [
            keras.Input((150, 150, 3)),
            layers.SeparableConv2D(32, 3, activation="relu"),
            layers.SeparableConv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.SeparableConv2D(64, 3, activation="relu"),
            layers.SeparableConv2D(128, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.SeparableConv2D(64, 3, activation="relu"),
            layers.SeparableConv2D(128, 3, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(32, activation="relu"),
            layers.Dense(7, activation="softmax"),
        ]
    )
    ours = build_model(option("separable_cnn"), DataSpec((150, 150, 3), "multiclass", 7), NO_REG)
    assert ours.count_params() == seed.count_params() == 38_850


def test_inception_module_by_hand() -> None:
    m = InceptionModuleConfig(a=8, b_reduce=4, b=8, c=4, d_reduce=2, d=4)
    cfg = InceptionConfig(stem_filters=[8, 16], modules=[m], dropout=0.0)
    model = build_model(cfg, DataSpec((32, 32, 3), "multiclass", 10), NO_REG)
    c_in = 16
    expected = (
        (c_in + 1) * 8  # a: 1x1
        + (c_in + 1) * 4
        + (9 * 4 + 1) * 8  # b: 1x1 -> 3x3
        + (c_in + 1) * 4  # c: pool -> 1x1
        + (c_in + 1) * 2
        + (9 * 2 + 1) * 4
        + (9 * 4 + 1) * 4  # d: 1x1 -> 3x3 -> 3x3
    )
    module = sum(layer.count_params() for layer in model.layers if layer.name.startswith("inception1_"))
    assert module == expected
    assert model.get_layer("inception1_concat").output.shape[-1] == 8 + 8 + 4 + 4


def test_mobilenet_rounds_filters_to_multiples_of_eight() -> None:
    assert [make_divisible(32 * a) for a in (0.35, 0.5, 0.75, 1.0, 1.4)] == [16, 16, 24, 32, 48]
    assert make_divisible(16 * 0.35) == 8


@pytest.mark.parametrize(
    "cfg",
    [
        InceptionConfig(stem_filters=[8, 8], modules=[InceptionModuleConfig(4, 2, 4, 2, 2, 2, True)]),
        MobileNetV2Config(alpha=0.35),
        ResNetConfig(depth=18, width=8, version=2),
        SeparableCNNConfig(padding="same"),
        VGGConfig(depth=11, width=4, dense_units=[16], top="avg"),
        AlexNetConfig(width=0.05, final_pool=False),
    ],
    ids=lambda c: c.name,
)
def test_small_models_run_on_small_images(cfg) -> None:
    model = build_model(cfg, DataSpec((32, 32, 3), "multiclass", 3), NO_REG)
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    probabilities = keras.ops.convert_to_numpy(model(x, training=True))  # eager: no tracing cost
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


# --------------------------------------------------------------------------- errors
def test_imagenet_resnet_depths() -> None:
    with pytest.raises(ConfigError, match=r"model\.depth=20: an imagenet ResNet has depth 18, 34, 50, 101 or 152"):
        build_model(ResNetConfig(depth=20, variant="imagenet"), IMAGENET, NO_REG)
    cifar50 = build_model(ResNetConfig(depth=50, variant="cifar"), DataSpec((32, 32, 3), "multiclass", 10), NO_REG)
    assert cifar50.get_layer("pool").output.shape[-1] == 64  # 16 * 4: the CIFAR family


def test_xception_needs_71_pixels() -> None:
    with pytest.raises(ConfigError, match=r"model=xception: an input of 71x71 does not fit the 32x32"):
        build_model(XceptionConfig(), DataSpec((32, 32, 3), "multiclass", 10), NO_REG)


def test_lenet5_on_digits_says_the_image_is_too_small() -> None:
    with pytest.raises(ConfigError, match=r"model=lenet5 layer C3: a 'valid' 5x5 convolution .* 2x2"):
        build_model(LeNet5Config(), DataSpec((8, 8, 1), "multiclass", 10), NO_REG)


@pytest.mark.parametrize("cfg", [VGGConfig(), XceptionConfig(), MobileNetV2Config(), LeNet5Config()], ids=str)
def test_zoo_rejects_vectors(cfg) -> None:
    with pytest.raises(ConfigError, match=rf"model={cfg.name} needs image inputs"):
        build_model(cfg, DataSpec((2,), "binary", 1), NO_REG)


# --------------------------------------------------------------------------- sequence models
def test_conv1d_equals_the_seeds_posts_model_body() -> None:
    from keras import layers

    tokens = keras.Input((500,), dtype="int32")
    x = layers.Embedding(50_000, 256)(tokens)
    for filters, pool in ((128, 5), (256, None), (256, 5), (256, None), (256, None)):
        x = layers.Conv1D(filters, 5, activation="relu")(x)
        if pool:
            x = layers.MaxPooling1D(pool)(x)
    x = layers.Dense(128, activation="relu")(layers.GlobalMaxPooling1D()(x))
    seed = keras.Model(tokens, layers.Dense(10, activation="softmax")(x))
    spec = DataSpec((500,), "multiclass", 10, input_dtype="int32", vocab_size=50_000)
    ours = build_model(option("conv1d"), spec, NO_REG)
    assert ours.count_params() == seed.count_params()
    assert ours.get_layer("embedding").count_params() == 50_000 * 256


def test_rnn_stack_bidirectional_and_seq2seq() -> None:
    cfg = RNNConfig(cell="gru", units=[8, 4], bidirectional=True, output="sequence")
    model = build_model(cfg, DataSpec((7, 1), "regression", 1), NO_REG)
    assert model.output_shape == (None, 7, 1)
    gru = model.get_layer("bidirectional1").forward_layer
    assert type(gru).__name__ == "GRU" and gru.return_sequences
    assert type(gru.cell.recurrent_initializer).__name__ == "Orthogonal"
    vector = build_model(RNNConfig(cell="simple", units=[5]), DataSpec((7, 3), "regression", 1), NO_REG)
    assert vector.output_shape == (None, 1)
    assert vector.get_layer("simple1").count_params() == 3 * 5 + 5 * 5 + 5


def test_tokens_need_a_model_with_an_embedding() -> None:
    spec = DataSpec((10,), "binary", 1, input_dtype="int32", vocab_size=20)
    with pytest.raises(ConfigError, match=r"model=mlp cannot read integer tokens .*\(rnn, conv1d, transformer\)"):
        build_model(MLPConfig(), spec, NO_REG)
    with pytest.raises(ConfigError, match=r"model=rnn needs sequences"):
        build_model(RNNConfig(), DataSpec((2,), "binary", 1), NO_REG)


def test_sequence_datasets_follow_their_rule() -> None:
    data = load_sequences(SequencesConfig(num_samples=200, num_classes=3, markers=3), seed=1)
    x, y = np.concatenate([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])
    counts = np.stack([(x == 1 + c).sum(axis=1) for c in range(3)], axis=1)
    np.testing.assert_array_equal(counts.argmax(axis=1), y)
    assert x.dtype == np.int32 and x.max() < 100
    series = load_timeseries(TimeSeriesConfig(num_samples=50, length=12, target="sequence"), seed=0)
    assert series.x_train.shape[1:] == (12, 1) and series.y_train.shape[1:] == (12, 1)
    np.testing.assert_array_equal(series.x_train[:, 1:], series.y_train[:, :-1])  # shifted by one step


# --------------------------------------------------------------------------- autoencoder
def test_dense_autoencoder_by_hand() -> None:
    model = build_model(AutoencoderConfig(), DataSpec((28, 28, 1), "multiclass", 10), NO_REG)
    assert model.output_shape == (None, 28, 28, 1)
    assert model.get_layer("code").output.shape[-1] == 32
    assert model.count_params() == 784 * 128 + 128 + 128 * 32 + 32 + 32 * 128 + 128 + 128 * 784 + 784 == 209_968
    assert model_spec(AutoencoderConfig(), DataSpec((28, 28, 1), "multiclass", 10)).task == "reconstruction"


def test_conv_autoencoder_shapes_and_divisibility() -> None:
    cfg = AutoencoderConfig(kind="conv", filters=[4, 8], bottleneck=6)
    model = build_model(cfg, DataSpec((12, 8, 3), "multiclass", 10), NO_REG)
    assert model.output_shape == (None, 12, 8, 3)
    assert model.get_layer("encoder2").output.shape[1:] == (3, 2, 8)
    with pytest.raises(ConfigError, match=r"model.filters=\[4, 8\]: 2 stride-2 convolutions need .* divisible by 4"):
        build_model(cfg, DataSpec((10, 8, 3), "multiclass", 10), NO_REG)


def test_autoencoder_trains_on_digits_and_writes_reconstructions(tmp_path) -> None:
    result = dltool_in_process(
        "train",
        "model=autoencoder",
        "model.kind=conv",
        "model.filters=[8]",
        "data.max_samples=300",
        "trainer.epochs=3",
        "callbacks.tensorboard.enabled=false",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["task"] == "reconstruction" and "test_mae" in results
    assert (tmp_path / "run" / "reconstructions.png").stat().st_size > 1000
    assert not (tmp_path / "run" / "confusion_matrix.png").exists()
    losses = [float(row.split(",")[1]) for row in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[1:]]
    assert losses[-1] < losses[0]
