"""Typed schemas of every config node.

Each group option (``conf/<group>/<option>.yaml``) is validated against the schema
registered under its ``name`` key, so a user's own option file in another config
directory gets the same checks as a built-in one. Field metadata carries the
constraints (``choices``, bounds) and a one-line help text.

This module imports neither Keras nor TensorFlow: validation runs before them.

Example:
    >>> from omegaconf import OmegaConf
    >>> schema_for("model", "mlp").__name__
    'MLPConfig'
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from typing import Any, ClassVar

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "softmax", "linear", "swish")
TASKS = ("multiclass", "binary", "regression")
BACKENDS = ("tensorflow", "jax", "torch")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def opt(default: Any = MISSING, help: str = "", **constraints: Any) -> Any:
    """A dataclass field with a help text and constraints (choices, ge, gt, le, lt).

    Mutable defaults (lists, dicts, dataclasses) are wrapped in a factory.
    """
    metadata = {"help": help, **constraints}
    if isinstance(default, list | dict) or hasattr(default, "__dataclass_fields__"):
        value = default
        return field(default_factory=lambda: _copy(value), metadata=metadata)
    return field(default=default, metadata=metadata)


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


# ----------------------------------------------------------------------------- data
@dataclass
class DataConfig:
    name: str = opt(help="dataset; see `conf/data/`")
    validation_split: float = opt(0.1, "fraction of the training split held out for validation", ge=0.0, lt=1.0)
    seed: int | None = opt(None, "seed of the splits and of generated data (null: trainer.seed)")
    max_samples: int | None = opt(None, "use at most this many examples of each split (quick runs)", gt=0)


@dataclass
class SplitDataConfig(DataConfig):
    """A dataset with no test split of its own: ``test_split`` of it is held out."""

    test_split: float = opt(0.2, "fraction of the data held out as the test split", gt=0.0, lt=1.0)


@dataclass
class DigitsConfig(SplitDataConfig):
    name: str = "digits"


@dataclass
class PointsConfig(SplitDataConfig):
    """Generated 2-D classification sets of the seeds (xor, blobs, flower, spirals)."""

    num_samples: int = opt(400, "number of generated points", gt=3)
    noise: float = opt(0.1, "standard deviation of the Gaussian noise", ge=0.0)


@dataclass
class FunctionConfig(SplitDataConfig):
    """1-D regression: y = x^3 + x^2 - x - 1 (+ noise) on [low, high]."""

    name: str = "function"
    num_samples: int = opt(1000, "number of generated points", gt=3)
    noise: float = opt(0.05, "standard deviation of the Gaussian noise on y", ge=0.0)
    low: float = opt(-2.0, "lower end of the x range")
    high: float = opt(2.0, "upper end of the x range")


@dataclass
class SyntheticConfig(SplitDataConfig):
    """Random inputs of any shape, for smoke tests and benchmarks."""

    name: str = "synthetic"
    input_shape: list[int] = opt([32, 32, 3], "shape of one example, without the batch axis")
    num_classes: int = opt(10, "number of classes (1 output for binary and regression)", ge=1)
    num_samples: int = opt(1000, "number of generated examples", gt=3)
    task: str = opt("multiclass", "what the labels are", choices=TASKS)


@dataclass
class SequencesConfig(SplitDataConfig):
    """Integer token sequences; the label is the class whose marker token occurs most often."""

    name: str = "sequences"
    num_samples: int = opt(2000, "number of generated sequences", gt=3)
    length: int = opt(40, "tokens per sequence", gt=3)
    vocab_size: int = opt(100, "tokens 0..vocab_size-1 (1..num_classes are the class markers)", gt=3)
    num_classes: int = opt(2, "number of classes (2: binary)", ge=2)
    markers: int = opt(3, "marker tokens of the true class per sequence (others get fewer)", ge=1)


@dataclass
class TimeSeriesConfig(SplitDataConfig):
    """Sums of two sine waves with noise (Géron's forecasting example); regression of the next value."""

    name: str = "timeseries"
    num_samples: int = opt(2000, "number of generated series", gt=3)
    length: int = opt(50, "time steps per series", gt=1)
    noise: float = opt(0.05, "standard deviation of the Gaussian noise", ge=0.0)
    target: str = opt(
        "next",
        "next: the value after the series (seq-to-vector); sequence: the next value at every step (seq-to-seq)",
        choices=("next", "sequence"),
    )


@dataclass
class QAConfig(SplitDataConfig):
    """The seeds' two-input model: text and question tokens -> answer (dltool/data/multi_io.py)."""

    name: str = "qa"
    num_samples: int = opt(2000, "number of generated (text, question, answer) examples", gt=3)
    text_length: int = opt(100, "tokens per text", gt=1)
    question_length: int = opt(20, "tokens per question", gt=0)
    text_vocab_size: int = opt(10000, "text tokens 0..text_vocab_size-1 (1..num_answers are answer markers)", gt=3)
    question_vocab_size: int = opt(10000, "question tokens (1 and 2 ask for the lower or upper answer)", gt=3)
    num_answers: int = opt(500, "number of answer classes", ge=2)
    markers: int = opt(3, "times each marker token is planted", ge=1)


@dataclass
class PostsConfig(SplitDataConfig):
    """The seeds' three-output model: post tokens -> age, income group, gender (dltool/data/multi_io.py)."""

    name: str = "posts"
    num_samples: int = opt(2000, "number of generated posts", gt=3)
    length: int = opt(300, "tokens per post", gt=2)
    vocab_size: int = opt(50000, "tokens 0..vocab_size-1 (the first ones are the planted markers)", gt=3)
    num_income_groups: int = opt(10, "income classes", ge=2)
    age_groups: int = opt(5, "age groups (2, 3, ... decades), each with its marker token", ge=1)
    markers: int = opt(3, "times each marker token is planted", ge=1)


@dataclass
class SentencePairsConfig(SplitDataConfig):
    """The seeds' siamese example: two sequences of word vectors -> same topic or not."""

    name: str = "sentence_pairs"
    num_samples: int = opt(2000, "number of generated pairs", gt=3)
    length: int = opt(20, "steps per sentence", gt=0)
    dim: int = opt(128, "size of each step's vector (the seeds' 128)", gt=0)
    topics: int = opt(10, "number of topics", ge=2)
    noise: float = opt(1.0, "standard deviation of the noise added to the topic's vector at each step", ge=0.0)


@dataclass
class CameraPairsConfig(SplitDataConfig):
    """The seeds' dual-camera example: two views of a coloured object -> its class."""

    name: str = "camera_pairs"
    num_samples: int = opt(600, "number of generated pairs of views", gt=3)
    image_size: int = opt(96, "side of each view (the seeds' 250 is heavy on CPU)", gt=3)
    num_classes: int = opt(4, "object classes, one colour each", ge=2)
    noise: float = opt(0.3, "background noise, as a fraction of full brightness", ge=0.0, le=1.0)


@dataclass
class ArchiveConfig(DataConfig):
    """A classic dataset read from its standard archive (downloaded once, or placed by hand)."""

    root: str | None = opt(None, "folder holding the archive (null: Keras' cache, ~/.keras/datasets)")


# ------------------------------------------------------ data: your own files
@dataclass
class ImageFolderConfig(SplitDataConfig):
    """Images in one sub-folder per class (or train/val/test sub-folders of them)."""

    name: str = "image_folder"
    root: str | None = opt(None, "folder of the class sub-folders (or of train/, val/, test/)")
    image_size: list[int] = opt([64, 64], "[height, width] the images are resized to")
    color_mode: str = opt(
        "auto",
        "rgb: 3 channels; grayscale: 1; auto: grayscale when every sampled image is single-channel",
        choices=("auto", "rgb", "grayscale"),
    )
    on_bad_file: str = opt(
        "skip", "unreadable image files: skip (one warning line) or error", choices=("skip", "error")
    )
    memory_budget_mb: int = opt(4096, "largest decoded set (float32) held in memory", gt=0)
    stream: Any = opt(
        "auto", "read and decode every batch from disk (auto: over memory_budget_mb)", choices=("auto", True, False)
    )


@dataclass
class CSVConfig(SplitDataConfig):
    """A CSV table with a header row: feature columns and one or several target columns."""

    name: str = "csv"
    path: str | None = opt(None, "the CSV file (first row: column names)")
    target: Any = opt("target", "target column, or a list of them (several: multi-output regression)")
    features: list[str] | None = opt(None, "feature columns (null: every column but the targets)")
    categorical: list[str] | None = opt(None, "columns one-hot encoded (null: the non-numeric ones)")
    task: str = opt("auto", "auto: regression for a numeric target, else classification", choices=("auto", *TASKS))
    missing: str = opt(
        "fill",
        "empty/NA cells: fill (numeric: training median, categorical: own category), drop (the row) or error",
        choices=("fill", "drop", "error"),
    )
    normalize: bool = opt(True, "standardize numeric features with the training split's mean and std")
    delimiter: str = opt(",", "field separator")


@dataclass
class TextConfig:
    vocab_size: int = opt(10000, "TextVectorization: vocabulary size, padding and unknown tokens included", gt=2)
    sequence_length: int = opt(200, "tokens per example (longer texts cut, shorter padded with 0)", gt=0)


@dataclass
class TextFolderConfig(TextConfig, SplitDataConfig):
    """Text files in one sub-folder per class (or train/val/test sub-folders of them), e.g. aclImdb."""

    name: str = "text_folder"
    root: str | None = opt(None, "folder of the class sub-folders (or of train/, val/, test/)")


@dataclass
class IMDBConfig(TextConfig, DataConfig):
    """IMDB reviews as Keras' loader gives them (imdb.npz): token ids ranked by frequency."""

    name: str = "imdb"
    root: str | None = opt(None, "folder holding imdb.npz (null: Keras' cache, ~/.keras/datasets)")


# ---------------------------------------------------------------------------- model
@dataclass
class ModelConfig:
    #: the model reads images (height, width, channels): other data is refused before Keras is imported
    image_input: ClassVar[bool] = False

    name: str = opt(help="architecture; see `conf/model/`")
    output_activation: str = opt(
        "auto", "activation of the output layer (auto: from the task)", choices=("auto", *ACTIVATIONS)
    )


@dataclass
class DenseStackConfig(ModelConfig):
    activation: str = opt("relu", "activation of the hidden layers", choices=ACTIVATIONS)
    activation_alpha: float = opt(0.01, "negative slope of leaky_relu, alpha of elu", ge=0.0)
    kernel_initializer: str = opt("auto", "Keras initializer name (auto: he_* for ReLUs, lecun for SELU)")


@dataclass
class MLPConfig(DenseStackConfig):
    name: str = "mlp"
    hidden_units: list[int] = opt([64, 64], "sizes of the hidden Dense layers ([] is a perceptron)")


@dataclass
class ConvBlockConfig:
    filters: int = opt(32, "number of filters", gt=0)
    kernel_size: int = opt(3, "square kernel size", gt=0)
    convs: int = opt(1, "convolutions before the pooling", ge=1)
    padding: str = opt("same", "padding of the convolutions", choices=("same", "valid"))
    pool: int = opt(2, "pooling size and stride (0: no pooling)", ge=0)
    pool_type: str = opt("max", "pooling kind", choices=("max", "average"))


@dataclass
class CNNConfig(DenseStackConfig):
    image_input: ClassVar[bool] = True
    name: str = "cnn"
    blocks: list[ConvBlockConfig] = opt([ConvBlockConfig()], "conv/pool blocks, in order")
    dense_units: list[int] = opt([128], "Dense layers after the flatten")


@dataclass
class ResNetConfig(ModelConfig):
    image_input: ClassVar[bool] = True
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


@dataclass
class AirbenchConfig(ModelConfig):
    image_input: ClassVar[bool] = True
    name: str = "airbench"
    widths: list[int] = opt([64, 256, 256], "filters of the conv groups (airbench: three)")
    stem_filters: int = opt(24, "filters of the 2x2 stem convolution", gt=0)
    activation: str = opt("gelu", "activation after the stem and each batch norm", choices=ACTIVATIONS)
    bn_momentum: float = opt(0.4, "batch-norm momentum (Keras: weight of the past)", ge=0.0, lt=1.0)
    bn_epsilon: float = opt(1e-12, "batch-norm epsilon (airbench: 1e-12)", gt=0.0)
    logit_scale: float = opt(1 / 9, "factor on the pooled features before the output layer", gt=0.0)


PADDINGS = ("auto", "same", "valid")


@dataclass
class LeNet5Config(ModelConfig):
    image_input: ClassVar[bool] = True
    name: str = "lenet5"
    activation: str = opt("tanh", "activation of the convolutions and of F6", choices=ACTIVATIONS)
    c1_padding: str = opt(
        "auto", "auto: 'same' on 28x28 inputs (MNIST as the table's 32x32), else 'valid'", choices=PADDINGS
    )
    pool_type: str = opt("average", "subsampling layers S2 and S4", choices=("max", "average"))


@dataclass
class AlexNetConfig(ModelConfig):
    image_input: ClassVar[bool] = True
    name: str = "alexnet"
    width: float = opt(1.0, "multiplier of every layer's filters and units (1: the paper)", gt=0.0)
    final_pool: bool = opt(True, "max-pool 3x3/2 after C7, as the paper (the seeds' table omits it)")
    dropout: float = opt(0.5, "dropout before F8 and F9", ge=0.0, lt=1.0)


@dataclass
class VGGConfig(ModelConfig):
    image_input: ClassVar[bool] = True
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


@dataclass
class InceptionConfig(ModelConfig):
    image_input: ClassVar[bool] = True
    name: str = "inception"
    stem_filters: list[int] = opt([64, 192], "[f, g]: 7x7/2 conv f, max-pool, 1x1 conv f, 3x3 conv g, max-pool")
    modules: list[InceptionModuleConfig] = opt([InceptionModuleConfig()], "inception modules, in order")
    c_pool: str = opt("average", "pooling of branch c", choices=("max", "average"))
    dropout: float = opt(0.4, "dropout after the global average pooling", ge=0.0, lt=1.0)


@dataclass
class XceptionConfig(ModelConfig):
    image_input: ClassVar[bool] = True
    name: str = "xception"
    middle_blocks: int = opt(8, "repeats of the middle-flow block (Chollet 2017: 8)", ge=0)


@dataclass
class ConvStackBlockConfig:
    filters: list[int] = opt([32, 64], "convolution filters, in order")
    pool: int = opt(2, "max-pooling size and stride after the block (0: none)", ge=0)


@dataclass
class SeparableCNNConfig(ModelConfig):
    image_input: ClassVar[bool] = True
    name: str = "separable_cnn"
    activation: str = opt("relu", "activation of every layer", choices=ACTIVATIONS)
    kernel_size: int = opt(3, "kernel size of the separable convolutions", gt=0)
    padding: str = opt("valid", "padding of the separable convolutions", choices=("same", "valid"))
    stack: list[ConvStackBlockConfig] = opt([ConvStackBlockConfig()], "blocks of separable convolutions")
    dense_units: list[int] = opt([32], "hidden Dense layers after the global average pooling")


@dataclass
class MobileNetV2Config(ModelConfig):
    image_input: ClassVar[bool] = True
    name: str = "mobilenet_v2"
    alpha: float = opt(1.0, "width multiplier (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)", gt=0.0)
    dropout: float = opt(0.0, "dropout after the global average pooling", ge=0.0, lt=1.0)


@dataclass
class RNNConfig(ModelConfig):
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


@dataclass
class Conv1DConfig(ModelConfig):
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


@dataclass
class AutoencoderConfig(ModelConfig):
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
class GANConfig(ModelConfig):
    """A DCGAN pair trained against each other (``dltool.training.gan``)."""

    name: str = "gan"
    latent_dim: int = opt(64, "size of the generator's random input", gt=0)
    generator_filters: list[int] = opt([128, 64], "stride-2 transposed convolutions of the generator, in order")
    discriminator_filters: list[int] = opt([64, 128], "stride-2 convolutions of the discriminator, in order")
    leaky_alpha: float = opt(0.2, "negative slope of the LeakyReLUs", ge=0.0)
    dropout: float = opt(0.3, "dropout after each discriminator convolution", ge=0.0, lt=1.0)
    samples: int = opt(16, "generated images in samples/epoch_NNN.png (a square grid)", gt=0)
    label_noise: float = opt(0.05, "uniform noise added to the discriminator's 0/1 labels", ge=0.0, lt=0.5)


@dataclass
class FineTuneConfig:
    head_epochs: int = opt(
        0, "phase 1: epochs of the head with the backbone frozen as `freeze` says (0: one phase)", ge=0
    )
    unfreeze_top: int = opt(0, "phase 2: the backbone's top N layers trainable (0: all of them)", ge=0)
    learning_rate: float = opt(1e-4, "phase 2: learning rate of the rebuilt optimizer", gt=0.0)


@dataclass
class TransferConfig(DenseStackConfig):
    image_input: ClassVar[bool] = True
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


# ------------------------------------------------------------- model=graph (docs/graph.md)
@dataclass
class GraphInputConfig:
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


@dataclass
class GraphConfig:
    """A functional-API graph; nodes, shared layers and blocks are checked when the graph is built."""

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


# ------------------------------------------------------------------------ optimizer
@dataclass
class ScheduleConfig:
    name: str = opt(
        "constant",
        "learning-rate schedule, per epoch (one_cycle: per step, warm-up then cosine)",
        choices=("constant", "step", "exponential", "cosine", "one_cycle"),
    )
    warmup_epochs: int = opt(0, "epochs of linear warm-up from 0 to the learning rate", ge=0)
    step_size: int = opt(10, "step: epochs between two decays", gt=0)
    decay_rate: float = opt(0.1, "step/exponential: factor per step (per epoch for exponential)", gt=0.0, le=1.0)
    min_learning_rate: float = opt(0.0, "cosine, one_cycle: final learning rate (one_cycle: also the first)", ge=0.0)


@dataclass
class OptimizerConfig:
    name: str = opt(help="optimizer; see `conf/optimizer/`")
    learning_rate: float = opt(0.001, "initial learning rate", gt=0.0)
    weight_decay: float | None = opt(None, "decoupled weight decay", ge=0.0)
    clipnorm: float | None = opt(None, "clip each gradient to this norm", gt=0.0)
    clipvalue: float | None = opt(None, "clip each gradient value to [-v, v]", gt=0.0)
    global_clipnorm: float | None = opt(None, "clip the global gradient norm", gt=0.0)
    use_ema: bool = opt(False, "keep an exponential moving average of the weights (validated and saved with them)")
    ema_momentum: float = opt(
        0.99, "use_ema: weight of the average's past (new = m * average + (1 - m) * weights)", ge=0.0, le=1.0
    )
    ema_overwrite_frequency: int | None = opt(
        None, "use_ema: steps between copies of the average into the weights (null: never)", gt=0
    )
    schedule: ScheduleConfig = opt(ScheduleConfig(), "learning-rate schedule")


@dataclass
class SGDConfig(OptimizerConfig):
    name: str = "sgd"
    learning_rate: float = opt(0.01, "initial learning rate", gt=0.0)
    momentum: float = opt(0.0, "momentum (0: plain SGD)", ge=0.0, lt=1.0)
    nesterov: bool = opt(False, "Nesterov momentum")


@dataclass
class AdagradConfig(OptimizerConfig):
    name: str = "adagrad"
    learning_rate: float = opt(0.01, "initial learning rate", gt=0.0)
    initial_accumulator_value: float = opt(0.1, "starting value of the accumulators", ge=0.0)
    epsilon: float = opt(1e-7, "numerical stability term", gt=0.0)


@dataclass
class RMSpropConfig(OptimizerConfig):
    name: str = "rmsprop"
    rho: float = opt(0.9, "decay of the moving average of squared gradients", gt=0.0, lt=1.0)
    momentum: float = opt(0.0, "momentum", ge=0.0, lt=1.0)
    epsilon: float = opt(1e-7, "numerical stability term", gt=0.0)
    centered: bool = opt(False, "normalize by the gradient's variance estimate")


@dataclass
class AdamConfig(OptimizerConfig):
    name: str = "adam"
    beta_1: float = opt(0.9, "decay of the first-moment estimate", ge=0.0, lt=1.0)
    beta_2: float = opt(0.999, "decay of the second-moment estimate", ge=0.0, lt=1.0)
    epsilon: float = opt(1e-7, "numerical stability term", gt=0.0)
    amsgrad: bool = opt(False, "AMSGrad variant")


@dataclass
class AdamWConfig(AdamConfig):
    name: str = "adamw"
    weight_decay: float | None = opt(0.004, "decoupled weight decay", ge=0.0)


@dataclass
class NadamConfig(OptimizerConfig):
    name: str = "nadam"
    beta_1: float = opt(0.9, "decay of the first-moment estimate", ge=0.0, lt=1.0)
    beta_2: float = opt(0.999, "decay of the second-moment estimate", ge=0.0, lt=1.0)
    epsilon: float = opt(1e-7, "numerical stability term", gt=0.0)


# ------------------------------------------------------------------- regularization
FILL_MODES = ("nearest", "reflect", "wrap", "constant")


@dataclass
class AugmentationConfig:
    """Image augmentation (dltool/models/augment.py); every transform is off at 0/false."""

    horizontal_flip: bool = opt(False, "random left-right flips (images only)")
    vertical_flip: bool = opt(False, "random up-down flips (images only)")
    translation: float = opt(0.0, "random shift, as a fraction of height and width", ge=0.0, lt=1.0)
    width_shift: float = opt(
        0.0, "random horizontal shift, fraction of the width (replaces translation)", ge=0.0, lt=1.0
    )
    height_shift: float = opt(
        0.0, "random vertical shift, fraction of the height (replaces translation)", ge=0.0, lt=1.0
    )
    rotation: float = opt(0.0, "random rotation in [-r, r] degrees", ge=0.0, le=180.0)
    shear: float = opt(0.0, "random shear along both axes, up to this fraction of the image", ge=0.0, le=1.0)
    zoom: float = opt(0.0, "random zoom in or out by up to this fraction", ge=0.0, lt=1.0)
    brightness: float = opt(0.0, "random brightness shift, up to this fraction of the [0, 1] range", ge=0.0, le=1.0)
    contrast: float = opt(0.0, "random contrast factor in [1 - c, 1 + c]", ge=0.0, le=1.0)
    fill_mode: str = opt("nearest", "points outside the image (rotation, shear, zoom, shift)", choices=FILL_MODES)
    crop_padding: int = opt(0, "random crop of the image zero-padded by this many pixels (CIFAR: 4)", ge=0)
    mixup: float = opt(0.0, "MixUp's alpha: mix pairs of images and labels (0: off)", ge=0.0)
    cutmix: float = opt(0.0, "CutMix's factor: paste patches between images, mix labels (0: off)", ge=0.0)


@dataclass
class RegularizationConfig:
    l1: float = opt(0.0, "L1 penalty on the kernels of Dense/Conv layers", ge=0.0)
    l2: float = opt(0.0, "L2 penalty on the kernels of Dense/Conv layers", ge=0.0)
    dropout: float = opt(0.0, "dropout rate after hidden Dense layers", ge=0.0, lt=1.0)
    dropout_type: str = opt(
        "standard", "alpha: AlphaDropout, which keeps SELU's self-normalization", choices=("standard", "alpha")
    )
    batch_norm: bool = opt(False, "batch normalization before each hidden activation (mlp, cnn)")
    label_smoothing: float = opt(0.0, "label smoothing of classification losses", ge=0.0, lt=1.0)
    augmentation: AugmentationConfig = opt(AugmentationConfig(), "image augmentation, active in training only")


# ------------------------------------------------------------------------ callbacks
@dataclass
class CheckpointConfig:
    save_best: bool = opt(True, "keep checkpoints/best.keras (best by callbacks.monitor)")
    save_last: bool = opt(True, "keep checkpoints/last.keras (the last epoch)")


@dataclass
class EarlyStoppingConfig:
    enabled: bool = opt(True, "stop when callbacks.monitor stops improving")
    patience: int = opt(10, "epochs without improvement before stopping", ge=0)
    min_delta: float = opt(0.0, "smallest change that counts as an improvement", ge=0.0)
    restore_best_weights: bool = opt(True, "end with the best epoch's weights")
    start_from_epoch: int = opt(0, "epochs to wait before watching", ge=0)


@dataclass
class ReduceLROnPlateauConfig:
    enabled: bool = opt(False, "divide the learning rate when callbacks.monitor plateaus")
    factor: float = opt(0.1, "multiplier of the learning rate", gt=0.0, lt=1.0)
    patience: int = opt(5, "epochs without improvement before reducing", ge=0)
    min_delta: float = opt(1e-4, "smallest change that counts as an improvement", ge=0.0)
    min_lr: float = opt(0.0, "lower bound of the learning rate", ge=0.0)


@dataclass
class TensorBoardConfig:
    enabled: bool = opt(True, "write tensorboard/ event files")
    histogram_freq: int = opt(0, "epochs between weight histograms (0: none)", ge=0)
    write_graph: bool = opt(True, "write the model graph")
    write_images: bool = opt(False, "also draw the weights as images")
    embeddings_layer: str | None = opt(
        None, "layer whose outputs on validation examples go to the embeddings projector (tensorboard/projector/)"
    )
    embeddings_samples: int = opt(500, "validation examples shown in the projector", gt=0)


@dataclass
class ActivationLoggerConfig:
    enabled: bool = opt(False, "save every layer's activations on validation examples: activations/epoch_NNN.npz")
    samples: int = opt(16, "validation examples fed to the model", gt=0)
    every: int = opt(1, "epochs between two saves", gt=0)
    layers: list[str] = opt([], "layer names to record ([]: every layer)")
    histograms: bool = opt(True, "also write them as TensorBoard histograms (tensorboard/activations/)")


@dataclass
class LambdaCallbackConfig:
    """keras.callbacks.LambdaCallback from the config: per hook, a message template or a callable.

    A template is formatted with ``epoch`` (1-based) and the hook's logs, e.g.
    ``"epoch {epoch}: val_loss {val_loss:.4f}"``, and printed and logged; ``{_target_: pkg.fn}``
    calls that function with the hook's Keras arguments (``epoch, logs`` or ``logs``).
    """

    on_train_begin: Any = opt(None, "template or {_target_: import.path} run when training starts")
    on_epoch_begin: Any = opt(None, "template or {_target_: import.path} run when an epoch starts")
    on_epoch_end: Any = opt(None, "template or {_target_: import.path} run after each epoch (logs: its metrics)")
    on_train_end: Any = opt(None, "template or {_target_: import.path} run when training ends")


@dataclass
class RemoteMonitorConfig:
    enabled: bool = opt(False, "POST each epoch's metrics to an HTTP server (a warning if it cannot be reached)")
    root: str = opt("http://localhost:9000", "server URL")
    path: str = opt("/publish/epoch/end/", "path the metrics are posted to")
    field: str = opt("data", "form field holding the JSON metrics (send_as_json: false)")
    send_as_json: bool = opt(False, "send the metrics as a JSON body instead of a form field")


@dataclass
class CallbacksConfig:
    monitor: str = opt("val_loss", "metric watched by checkpoint, early stopping and LR reduction")
    mode: str = opt("auto", "whether the monitored metric should go down or up", choices=("auto", "min", "max"))
    checkpoint: CheckpointConfig = opt(CheckpointConfig(), "run-directory checkpoints")
    early_stopping: EarlyStoppingConfig = opt(EarlyStoppingConfig(), "keras.callbacks.EarlyStopping")
    reduce_lr_on_plateau: ReduceLROnPlateauConfig = opt(ReduceLROnPlateauConfig(), "keras.callbacks.ReduceLROnPlateau")
    tensorboard: TensorBoardConfig = opt(TensorBoardConfig(), "keras.callbacks.TensorBoard")
    activation_logger: ActivationLoggerConfig = opt(ActivationLoggerConfig(), "layer activations per epoch")
    lambda_callback: LambdaCallbackConfig = opt(LambdaCallbackConfig(), "keras.callbacks.LambdaCallback")
    remote_monitor: RemoteMonitorConfig = opt(RemoteMonitorConfig(), "keras.callbacks.RemoteMonitor")
    swap_ema_weights: bool = opt(True, "with optimizer.use_ema: validate and checkpoint the averaged weights")
    progbar_logger: bool = opt(False, "Keras' text ProgbarLogger in place of dltool's live display")
    terminate_on_nan: bool = opt(True, "stop at the first non-finite loss")
    backup_and_restore: bool = opt(True, "per-epoch backup in checkpoints/backup (the base of resume)")
    custom: list[Any] = opt([], "your own callbacks: a list of {_target_: import.path, ...arguments}")


# -------------------------------------------------------------------------- trainer
@dataclass
class TrainerConfig:
    epochs: int = opt(30, "number of epochs", ge=0)
    batch_size: int = opt(32, "examples per step, all replicas together (each replica: batch_size / replicas)", gt=0)
    seed: int = opt(42, "seed of weights, shuffling and splits", ge=0)
    deterministic: bool = opt(False, "deterministic kernels (slower; bit-for-bit reruns on CPU)")
    backend: str = opt("tensorflow", "Keras backend (jax is the fast one on GPUs)", choices=BACKENDS)
    devices: Any = opt("auto", "auto | cpu | gpu | list of GPU indices")
    # Distribution (TensorFlow backend): batch_size is the global batch, split evenly over the replicas
    # (all devices of all workers); the run directory is written once, by the chief worker.
    strategy: str = opt(
        "auto",
        "auto (mirrored on several GPUs) | default | mirrored | multi_worker (TF_CONFIG or SLURM)",
        choices=STRATEGIES,
    )
    precision: str = opt(
        "float32",
        "dtype policy (auto: mixed_bfloat16 on GPUs of compute capability >= 8.0, mixed_float16 on older, CPU float32)",
        choices=PRECISIONS,
    )
    jit_compile: Any = opt("auto", "XLA compilation", choices=("auto", True, False))
    steps_per_execution: int = opt(1, "steps run per call into the compiled function", gt=0)
    loss: str = opt("auto", "Keras loss name (auto: from the task)")
    metrics: list[str] = opt(["auto"], "Keras metric names (auto: accuracy, or mae for regression)")


# --------------------------------------------------------------------------- logger
@dataclass
class LoggerConfig:
    name: str = opt(help="experiment tracker beyond the run directory; see `conf/logger/`")


@dataclass
class NoLoggerConfig(LoggerConfig):
    name: str = "none"


@dataclass
class MLflowLoggerConfig(LoggerConfig):
    """MLflow tracking, switched on only by ``logger=mlflow`` (never because the package is installed)."""

    name: str = "mlflow"
    tracking_uri: str | None = opt(
        None,
        "MLflow tracking URI (null: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db in the working directory)",
    )
    experiment: str = opt("dltool", "MLflow experiment the run goes to (created if needed)")
    run_name: str | None = opt(None, "MLflow run name (null: the run directory's name)")
    log_artifacts: bool = opt(True, "copy the run directory's files (not the resume backup) to the run's artifacts")


# ---------------------------------------------------------- after training (not in conf/)
@dataclass
class EnsembleConfig:
    weights: Any = opt("equal", "member weights: equal, auto (fitted on the validation split) or a list [w1, w2, ...]")


@dataclass
class EvaluateConfig:
    """``dltool evaluate``'s own keys, given on its command line beside the run's overrides."""

    split: str = opt("test", "split scored (data.split=... is accepted too)", choices=("test", "val", "train"))
    worst: int = opt(16, "worst-classified examples drawn in worst_examples.png (images)", ge=0)
    ensemble: EnsembleConfig = opt(EnsembleConfig(), "how several runs are combined")


@dataclass
class ExportConfig:
    """``dltool export``'s keys."""

    format: str = opt("savedmodel", "what to write", choices=("savedmodel", "keras", "tflite", "onnx"))
    out: str | None = opt(None, "where to write it (null: <run>/export/<format file>)")
    samples: int = opt(64, "random inputs on which the export is checked against the checkpoint", gt=0)
    allowed_targets: list[str] | None = opt(None, "import-path prefixes the run's config may name (null: any)")


# ---------------------------------------------------------------------------- sweep
SAMPLERS = ("grid", "random", "tpe", "cmaes", "nsga2")
PRUNERS = ("none", "median", "hyperband", "successive_halving")


@dataclass
class SweepConfig:
    """``dltool sweep``'s settings (``conf/sweep/``); ``dltool train`` refuses them."""

    params: dict[str, Any] = opt(
        {}, "search space: key -> choice(a,b) | range(lo,hi,step=s) | interval(lo,hi) | tag(log,interval(lo,hi))"
    )
    overrides: list[str] = opt([], "fixed overrides every trial gets, before the command line's")
    sampler: str = opt("tpe", "grid | random | tpe (Bayesian) | cmaes | nsga2 (several metrics)", choices=SAMPLERS)
    pruner: str = opt("none", "stop poor trials early, from per-epoch validation metrics", choices=PRUNERS)
    metric: Any = opt("best_val_accuracy", "results.json key to optimize (a list of keys with nsga2)")
    direction: Any = opt("maximize", "maximize | minimize (a list, one per metric)")
    n_trials: int = opt(20, "finished trials (completed or pruned) the study should hold", gt=0)
    timeout: float | None = opt(None, "start no trial after this many seconds", gt=0.0)
    n_jobs: int = opt(1, "trials run at once by this process", gt=0)
    gpus_per_trial: Any = opt("auto", "GPUs each trial sees: auto (1 when there are GPUs, else none) or a number")
    seed: int = opt(0, "sampler seed of the process that creates the study (others derive theirs)", ge=0)
    storage: str | None = opt(None, "SQLAlchemy URL of the study (null: sqlite:///<sweep dir>/study.db)")
    study_name: str | None = opt(None, "study name in the storage (null: from the sweep directory)")
    resume: str | None = opt(None, "a sweep directory to continue")
    max_failures: int = opt(3, "stop after this many failed trials in a row", gt=0)
    heartbeat_grace_s: int = opt(
        60, "a trial silent this long lost its worker (run again); a worker waits this long on a lost database", gt=0
    )
    isolation: str = opt(
        "worker",
        "worker: a process per slot runs trial after trial (TensorFlow imported once) | process: one per trial",
        choices=("worker", "process"),
    )
    worker_trials: int = opt(20, "trials a worker runs before a fresh one replaces it", gt=0)
    worker_max_rss_mb: float | None = opt(8192.0, "a worker above this resident memory (MiB) is replaced", gt=0.0)


# ------------------------------------------------------------------------- registry
SCHEMAS: dict[str, dict[str, type]] = {
    "data": {
        "digits": DigitsConfig,
        "xor": PointsConfig,
        "blobs": PointsConfig,
        "flower": PointsConfig,
        "spirals": PointsConfig,
        "function": FunctionConfig,
        "synthetic": SyntheticConfig,
        "sequences": SequencesConfig,
        "timeseries": TimeSeriesConfig,
        "qa": QAConfig,
        "posts": PostsConfig,
        "sentence_pairs": SentencePairsConfig,
        "camera_pairs": CameraPairsConfig,
        "mnist": ArchiveConfig,
        "fashion_mnist": ArchiveConfig,
        "cifar10": ArchiveConfig,
        "cifar100": ArchiveConfig,
        "image_folder": ImageFolderConfig,
        "csv": CSVConfig,
        "text_folder": TextFolderConfig,
        "imdb": IMDBConfig,
    },
    "model": {
        "mlp": MLPConfig,
        "cnn": CNNConfig,
        "resnet": ResNetConfig,
        "airbench": AirbenchConfig,
        "lenet5": LeNet5Config,
        "alexnet": AlexNetConfig,
        "vgg": VGGConfig,
        "inception": InceptionConfig,
        "xception": XceptionConfig,
        "separable_cnn": SeparableCNNConfig,
        "mobilenet_v2": MobileNetV2Config,
        "rnn": RNNConfig,
        "conv1d": Conv1DConfig,
        "autoencoder": AutoencoderConfig,
        "transfer": TransferConfig,
        "gan": GANConfig,
        "graph": GraphConfig,
    },
    "optimizer": {
        "sgd": SGDConfig,
        "adagrad": AdagradConfig,
        "rmsprop": RMSpropConfig,
        "adam": AdamConfig,
        "adamw": AdamWConfig,
        "nadam": NadamConfig,
    },
    "logger": {"none": NoLoggerConfig, "mlflow": MLflowLoggerConfig},
}

FIXED_SCHEMAS: dict[str, type] = {
    "regularization": RegularizationConfig,
    "callbacks": CallbacksConfig,
    "trainer": TrainerConfig,
}


OPTIONAL_SCHEMAS: dict[str, type] = {"sweep": SweepConfig}


def schema_for(group: str, name: str) -> type:
    """The schema of option ``name`` of ``group`` (raises KeyError if unknown)."""
    return SCHEMAS[group][name]
