"""Typed schemas of the ``model`` group: one dataclass per architecture, registered by name.

How a schema makes an option (its docstring, fields, ``conf/model/`` presets): the README's "Adding a model".

Example:
    >>> from dltool.config.registry import SCHEMAS
    >>> SCHEMAS["model"]["mlp"]().hidden_units
    [64, 64]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from dltool.config.fields import opt
from dltool.config.registry import option

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "softmax", "linear", "swish")


@dataclass
class ModelConfig:
    # Import paths ``module:function``, imported when the model is built (Keras is imported then).
    #: the body ``build(cfg, inputs, reg)``, returning the features before the output layer (see ``whole_model``)
    builder: ClassVar[str]
    #: the builder makes the whole model, ``build(cfg, spec, reg)``: its own outputs, no output layer added
    whole_model: ClassVar[bool] = False
    #: ``spec_change(spec)``: the data spec as the model sees it, when its targets are not the data's labels
    spec_change: ClassVar[str | None] = None
    #: ``note(cfg, shape)``: the line of ``dltool show`` saying which variant is built, for input-dependent layers
    note: ClassVar[str | None] = None
    #: the model reads images (height, width, channels): other data is refused before Keras is imported
    image_input: ClassVar[bool] = False
    #: ``build(cfg, spec, reg)``: the whole model of a table or of named inputs/outputs (None: refused in one line)
    combiner: ClassVar[str | None] = None

    name: str = opt(help="architecture; see `dltool list model`")
    output_activation: str = opt(
        "auto", "activation of the output layer (auto: from the task)", choices=("auto", *ACTIVATIONS)
    )


class ImageModelConfig(ModelConfig):
    image_input: ClassVar[bool] = True


@dataclass
class DenseStackConfig(ModelConfig):
    activation: str = opt("relu", "activation of the hidden layers", choices=ACTIVATIONS)
    activation_alpha: float = opt(0.01, "negative slope of leaky_relu, alpha of elu", ge=0.0)
    kernel_initializer: str = opt("auto", "Keras initializer name (auto: he_* for ReLUs, lecun for SELU)")


@option("model")
@dataclass
class MLPConfig(DenseStackConfig):
    """Multilayer perceptron: Dense 64 -> Dense 64 (ReLU) -> output layer; the default model.

    Example:
        dltool train model=mlp data=digits model.hidden_units=[128,64] model.activation=selu
    """

    builder: ClassVar[str] = "dltool.models.mlp:build_mlp"
    combiner: ClassVar[str | None] = "dltool.models.combiner:build_combiner"
    name: str = "mlp"
    hidden_units: list[int] = opt([64, 64], "sizes of the hidden Dense layers ([] is a perceptron)")
    members: int | None = opt(
        None,
        "tables and named inputs: members of a parameter-efficient ensemble sharing the hidden layers, predictions "
        "averaged (null: 32 with hidden layers, else 1)",
        gt=0,
    )


@dataclass
class ConvBlockConfig:
    filters: int = opt(32, "number of filters", gt=0)
    kernel_size: int = opt(3, "square kernel size", gt=0)
    convs: int = opt(1, "convolutions before the pooling", ge=1)
    padding: str = opt("same", "padding of the convolutions", choices=("same", "valid"))
    pool: int = opt(2, "pooling size and stride (0: no pooling)", ge=0)
    pool_type: str = opt("max", "pooling kind", choices=("max", "average"))


@option("model")
@dataclass
class CNNConfig(DenseStackConfig, ImageModelConfig):
    """The seeds' MNIST CNN: conv 32 3x3 'same' + ReLU, max-pool 2, flatten, Dense 128, output layer.
    On 28x28x1 with 10 classes: 320 + 802,944 + 1,290 = 804,554 parameters.

    Example:
        dltool train model=cnn data=mnist
    """

    builder: ClassVar[str] = "dltool.models.cnn:build_cnn"
    name: str = "cnn"
    blocks: list[ConvBlockConfig] = opt([ConvBlockConfig()], "conv/pool blocks, in order")
    dense_units: list[int] = opt([128], "Dense layers after the flatten")


@option("model")
@dataclass
class ResNetConfig(ImageModelConfig):
    """ResNet-20 for CIFAR (He et al. 2016): 3 stages of 3 basic residual blocks, 16/32/64 filters,
    global average pooling, output layer; 0.27M parameters on 32x32x3 with 10 classes. Depths
    18/34/50/101/152 build the ImageNet ResNets (model.version=2: pre-activation).

    Example:
        dltool train model=resnet data=cifar10 model.depth=56
    """

    builder: ClassVar[str] = "dltool.models.resnet:build_resnet"
    name: str = "resnet"
    depth: int = opt(20, "6n+2 layers (20, 32, 44, 56, 110, ...)", ge=8)
    width: int | None = opt(
        None, "filters of the first stage, doubled at each stage (null: 16 cifar, 64 imagenet)", gt=0
    )
    shortcut: str = opt("A", "cifar: A zero-padded identity (the paper's choice), B 1x1 projection", choices=("A", "B"))
    variant: str = opt(
        "auto",
        "cifar (6n+2) | imagenet (18/34/50/101/152) | auto (imagenet for those depths)",
        choices=("auto", "cifar", "imagenet"),
    )
    version: int = opt(1, "imagenet: 1 (post-activation) or 2 (pre-activation, He et al. 2016b)", choices=(1, 2))
    use_bias: bool = opt(True, "imagenet: biases in the convolutions, as Keras Applications (false: torchvision)")


@option("model")
@dataclass
class AirbenchConfig(ImageModelConfig):
    builder: ClassVar[str] = "dltool.models.airbench:build_airbench"
    name: str = "airbench"
    widths: list[int] = opt([64, 256, 256], "filters of the conv groups (airbench: three)")
    stem_filters: int = opt(24, "filters of the 2x2 stem convolution", gt=0)
    activation: str = opt("gelu", "activation after the stem and each batch norm", choices=ACTIVATIONS)
    bn_momentum: float = opt(0.4, "batch-norm momentum (Keras: weight of the past)", ge=0.0, lt=1.0)
    bn_epsilon: float = opt(1e-12, "batch-norm epsilon (airbench: 1e-12)", gt=0.0)
    logit_scale: float = opt(1 / 9, "factor on the pooled features before the output layer", gt=0.0)


@option("model")
@dataclass
class LeNet5Config(ImageModelConfig):
    """LeNet-5 as in the seeds' table: C1 conv 6 5x5, S2 average-pool, C3 conv 16 5x5, S4 average-pool,
    C5 conv 120 5x5, F6 Dense 84 (tanh), output layer. On 32x32x1 or 28x28x1, 10 classes: 61,706 parameters.

    Example:
        dltool train model=lenet5 data=mnist
    """

    builder: ClassVar[str] = "dltool.models.lenet:build_lenet5"
    note: ClassVar[str | None] = "dltool.models.lenet:lenet5_note"
    name: str = "lenet5"
    activation: str = opt("tanh", "activation of the convolutions and of F6", choices=ACTIVATIONS)
    c1_padding: str = opt(
        "auto",
        "auto: 'same' on 28x28 inputs (MNIST as the table's 32x32), else 'valid'",
        choices=("auto", "same", "valid"),
    )
    pool_type: str = opt("average", "subsampling layers S2 and S4", choices=("max", "average"))


@option("model")
@dataclass
class AlexNetConfig(ImageModelConfig):
    """AlexNet as in the seeds' table: C1 96 11x11/4, max-pool, C3 256 5x5, max-pool, C5/C6 384 3x3, C7 256 3x3,
    max-pool, F8/F9 Dense 4096 with dropout, output layer. 62,378,344 parameters at 224x224x3, 1000 classes.

    Example:
        dltool train model=alexnet data=cifar10 model.width=0.25
    """

    builder: ClassVar[str] = "dltool.models.alexnet:build_alexnet"
    name: str = "alexnet"
    width: float = opt(1.0, "multiplier of every layer's filters and units (1: the paper)", gt=0.0)
    final_pool: bool = opt(True, "max-pool 3x3/2 after C7, as the paper (the seeds' table omits it)")
    dropout: float = opt(0.5, "dropout before F8 and F9", ge=0.0, lt=1.0)


@option("model")
@dataclass
class VGGConfig(ImageModelConfig):
    """VGG (Simonyan and Zisserman 2015): 5 stages of 3x3 convolutions + max-pooling, Dense 4096 x 2, output layer.
    VGG-16 has 138,357,544 parameters at 224x224x3, 1000 classes (Keras Applications).

    Example:
        dltool train model=vgg model.depth=11 data=cifar10 model.dense_units=[512]
    """

    builder: ClassVar[str] = "dltool.models.vgg:build_vgg"
    name: str = "vgg"
    depth: int = opt(16, "weight layers: 11, 13, 16 or 19", choices=(11, 13, 16, 19))
    width: int = opt(64, "filters of the first stage (doubled per stage, at most 8x)", gt=0)
    dense_units: list[int] = opt([4096, 4096], "hidden Dense layers after the flatten")
    dropout: float = opt(0.0, "dropout after each hidden Dense layer (the paper: 0.5)", ge=0.0, lt=1.0)
    top: str = opt("flatten", "flatten (the paper) or avg (global average pooling)", choices=("flatten", "avg"))


@dataclass
class InceptionModuleConfig:
    a: int = opt(64, "branch a: 1x1 filters", gt=0)
    b_reduce: int = opt(96, "branch b: 1x1 filters before its 3x3", gt=0)
    b: int = opt(128, "branch b: 3x3 filters", gt=0)
    c: int = opt(32, "branch c: filters of the conv after the 3x3 pooling", gt=0)
    d_reduce: int = opt(16, "branch d: 1x1 filters before its two 3x3", gt=0)
    d: int = opt(32, "branch d: filters of its two 3x3", gt=0)
    pool_before: bool = opt(False, "max-pool 3x3/2 before this module")


@option("model")
@dataclass
class InceptionConfig(ImageModelConfig):
    builder: ClassVar[str] = "dltool.models.inception:build_inception"
    name: str = "inception"
    stem_filters: list[int] = opt([64, 192], "[f, g]: 7x7/2 conv f, max-pool, 1x1 conv f, 3x3 conv g, max-pool")
    modules: list[InceptionModuleConfig] = opt([InceptionModuleConfig()], "inception modules, in order")
    c_pool: str = opt("average", "pooling of branch c", choices=("max", "average"))
    dropout: float = opt(0.4, "dropout after the global average pooling", ge=0.0, lt=1.0)


@option("model")
@dataclass
class XceptionConfig(ImageModelConfig):
    """Xception (Chollet 2017), as Keras Applications: depthwise separable convolutions with residual
    connections; 22,910,480 parameters at 224x224x3, 1000 classes. Inputs of at least 71x71.

    Example:
        dltool train model=xception data=synthetic data.input_shape=[96,96,3]
    """

    builder: ClassVar[str] = "dltool.models.xception:build_xception"
    name: str = "xception"
    middle_blocks: int = opt(8, "repeats of the middle-flow block (Chollet 2017: 8)", ge=0)


@dataclass
class ConvStackBlockConfig:
    filters: list[int] = opt([32, 64], "convolution filters, in order")
    pool: int = opt(2, "max-pooling size and stride after the block (0: none)", ge=0)


@option("model")
@dataclass
class SeparableCNNConfig(ImageModelConfig):
    builder: ClassVar[str] = "dltool.models.xception:build_separable_cnn"
    name: str = "separable_cnn"
    activation: str = opt("relu", "activation of every layer", choices=ACTIVATIONS)
    kernel_size: int = opt(3, "kernel size of the separable convolutions", gt=0)
    padding: str = opt("valid", "padding of the separable convolutions", choices=("same", "valid"))
    stack: list[ConvStackBlockConfig] = opt([ConvStackBlockConfig()], "blocks of separable convolutions")
    dense_units: list[int] = opt([32], "hidden Dense layers after the global average pooling")


@option("model")
@dataclass
class MobileNetV2Config(ImageModelConfig):
    """MobileNetV2 (Sandler et al. 2018), as Keras Applications: inverted residual blocks with linear
    bottlenecks and depthwise convolutions; 3,538,984 parameters at 224x224x3, 1000 classes.

    Example:
        dltool train model=mobilenet_v2 data=cifar10 model.alpha=0.5
    """

    builder: ClassVar[str] = "dltool.models.mobilenet:build_mobilenet_v2"
    name: str = "mobilenet_v2"
    alpha: float = opt(1.0, "width multiplier (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)", gt=0.0)
    dropout: float = opt(0.0, "dropout after the global average pooling", ge=0.0, lt=1.0)


@option("model")
@dataclass
class RNNConfig(ModelConfig):
    """Recurrent network: stacked SimpleRNN / LSTM / GRU layers (optionally bidirectional), the last state
    (seq-to-vector) or every step (seq-to-sequence) into the output layer. Integer tokens get an embedding.

    Example:
        dltool train model=rnn data=sequences model.cell=gru model.units=[32,32] model.bidirectional=true
    """

    builder: ClassVar[str] = "dltool.models.sequence:build_rnn"
    name: str = "rnn"
    cell: str = opt("lstm", "recurrent layer", choices=("simple", "lstm", "gru"))
    units: list[int] = opt([32], "units of the stacked recurrent layers (several: a deep RNN)")
    bidirectional: bool = opt(False, "wrap each recurrent layer in Bidirectional")
    output: str = opt(
        "vector", "vector: last state only (seq-to-vector); sequence: every step", choices=("vector", "sequence")
    )
    dropout: float = opt(0.0, "dropout of the inputs of each recurrent layer", ge=0.0, lt=1.0)
    recurrent_dropout: float = opt(0.0, "dropout of the recurrent state", ge=0.0, lt=1.0)
    recurrent_initializer: str = opt("orthogonal", "initializer of the recurrent kernels")
    embedding_dim: int = opt(32, "size of the token embedding (integer token inputs only)", gt=0)


@option("model")
@dataclass
class Conv1DConfig(ModelConfig):
    """1-D CNN for text and time series, the seeds' multi-output example body: Conv1D 128 5, max-pool 5,
    Conv1D 256 x2, max-pool 5, Conv1D 256 x2, global max pooling, Dense 128, output layer.

    Example:
        dltool train model=conv1d data=sequences data.length=500 model.embedding_dim=32
    """

    builder: ClassVar[str] = "dltool.models.sequence:build_conv1d"
    name: str = "conv1d"
    activation: str = opt("relu", "activation of the convolutions and hidden Dense layers", choices=ACTIVATIONS)
    kernel_size: int = opt(5, "kernel size of the convolutions", gt=0)
    stack: list[ConvStackBlockConfig] = opt(
        [ConvStackBlockConfig([128], 5), ConvStackBlockConfig([256, 256], 5), ConvStackBlockConfig([256, 256], 0)],
        "blocks of 'valid' Conv1D layers, each followed by a max-pooling of size pool (0: none)",
    )
    global_pool: str = opt("max", "pooling over time after the stack", choices=("max", "average"))
    dense_units: list[int] = opt([128], "hidden Dense layers after the pooling")
    embedding_dim: int = opt(256, "size of the token embedding (integer token inputs only)", gt=0)


@option("model")
@dataclass
class TransformerConfig(ModelConfig):
    """Transformer encoder for text (token sequences) and series: token + learned position embedding,
    blocks of multi-head self-attention and a feed-forward network (each with dropout, a residual and
    LayerNormalization), global pooling over the steps, optional Dense layers, output layer.

    Example:
        dltool train model=transformer data=text_folder data.root=news/ model.num_blocks=2 model.num_heads=4
    """

    builder: ClassVar[str] = "dltool.models.transformer:build_transformer"
    name: str = "transformer"
    embedding_dim: int = opt(64, "size of the token embedding and of every encoder block's output", gt=0)
    num_blocks: int = opt(1, "encoder blocks (self-attention + feed-forward)", gt=0)
    num_heads: int = opt(2, "attention heads per block", gt=0)
    key_dim: int | None = opt(None, "size of each head's queries and keys (null: embedding_dim / num_heads)", gt=0)
    ff_dim: int = opt(128, "hidden units of each block's feed-forward network", gt=0)
    dropout: float = opt(0.1, "dropout of attention weights, embeddings, sub-layer outputs, head", ge=0.0, lt=1.0)
    global_pool: str = opt("average", "pooling over the steps after the blocks", choices=("average", "max"))
    dense_units: list[int] = opt([], "hidden Dense layers after the pooling")


@option("model")
@dataclass
class AutoencoderConfig(ModelConfig):
    """Autoencoder: reproduce the input through a small code (task reconstruction: targets = inputs, MSE);
    dense (any input) or conv (images). Writes reconstructions.png to the run directory.

    Example:
        dltool train model=autoencoder data=mnist model.kind=conv model.bottleneck=16
    """

    builder: ClassVar[str] = "dltool.models.autoencoder:build_autoencoder"
    spec_change: ClassVar[str | None] = "dltool.models.autoencoder:reconstruction_spec"
    name: str = "autoencoder"
    output_activation: str = opt(
        "auto", "activation of the reconstruction (auto: sigmoid, for inputs in [0, 1])", choices=("auto", *ACTIVATIONS)
    )
    kind: str = opt("dense", "dense (any input) or conv (images; strided convolutions)", choices=("dense", "conv"))
    hidden_units: list[int] = opt([128], "dense: encoder layers before the bottleneck (mirrored in the decoder)")
    filters: list[int] = opt([32, 64], "conv: stride-2 convolutions of the encoder (mirrored, transposed)")
    bottleneck: int = opt(32, "size of the code", gt=0)
    activation: str = opt("relu", "activation of the hidden layers", choices=ACTIVATIONS)


@dataclass
class FineTuneConfig:
    head_epochs: int = opt(
        0, "phase 1: epochs of the head with the backbone frozen as `freeze` says (0: one phase)", ge=0
    )
    unfreeze_top: int = opt(0, "phase 2: the backbone's top N layers trainable (0: all of them)", ge=0)
    learning_rate: float = opt(1e-4, "phase 2: learning rate of the rebuilt optimizer", gt=0.0)


@option("model")
@dataclass
class TransferConfig(DenseStackConfig, ImageModelConfig):
    builder: ClassVar[str] = "dltool.models.transfer:build_transfer"
    name: str = "transfer"
    backbone: str = opt("MobileNetV2", "keras.applications model: ResNet50, InceptionV3, VGG16, MobileNetV2, ...")
    weights: str | None = opt("imagenet", "imagenet | null (random) | path of the backbone's weights file (no top)")
    backbone_args: dict[str, Any] = opt({}, "other arguments of the backbone's constructor, e.g. {alpha: 0.35}")
    input_size: int | None = opt(None, "side the images are resized to (null: the backbone's default)", gt=0)
    pooling: str = opt("avg", "global pooling of the backbone's features", choices=("avg", "max"))
    dense_units: list[int] = opt([], "hidden Dense layers of the new head")
    dropout: float = opt(0.0, "dropout before the output layer", ge=0.0, lt=1.0)
    freeze: str = opt("all", "all | none | N: the backbone's first N layers frozen")
    feature_extraction: bool = opt(False, "run the frozen backbone once, cache its features, train the head on them")
    fine_tune: FineTuneConfig = opt(FineTuneConfig(), "two-phase fine-tuning")


@option("model")
@dataclass
class GANConfig(ModelConfig):
    """DCGAN: a generator of images from random vectors against a discriminator, trained in turn;
    samples/epoch_NNN.png shows generated images each epoch (dltool.models.gan).

    Example:
        dltool train model=gan data=digits optimizer.learning_rate=2e-4 optimizer.beta_1=0.5
    """

    builder: ClassVar[str] = "dltool.models.gan:build_gan"
    whole_model: ClassVar[bool] = True
    spec_change: ClassVar[str | None] = "dltool.models.gan:generation_spec"
    name: str = "gan"
    latent_dim: int = opt(64, "size of the generator's random input", gt=0)
    generator_filters: list[int] = opt([128, 64], "stride-2 transposed convolutions of the generator, in order")
    discriminator_filters: list[int] = opt([64, 128], "stride-2 convolutions of the discriminator, in order")
    leaky_alpha: float = opt(0.2, "negative slope of the LeakyReLUs", ge=0.0)
    dropout: float = opt(0.3, "dropout after each discriminator convolution", ge=0.0, lt=1.0)
    samples: int = opt(16, "generated images in samples/epoch_NNN.png (a square grid)", gt=0)
    label_noise: float = opt(0.05, "uniform noise added to the discriminator's 0/1 labels", ge=0.0, lt=0.5)


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
