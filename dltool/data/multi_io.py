"""Generated datasets of several named inputs and outputs, for the seeds' functional-API examples.

Each gives ``x`` and ``y`` as dicts keyed by input and output name (``model=graph`` declares the
same names), with targets that are learnable functions of the inputs:

- ``qa`` (text, question -> answer): the text holds the marker tokens of two answers, one from the
  lower half of the answers, one from the upper half; the question holds the token 1 ("which lower
  one?") or 2 ("which upper one?"). The answer needs both inputs.
- ``posts`` (posts -> age, income, gender): marker tokens of the income group, the gender and the
  age group are planted in random tokens; age = 2 + age group + N(0, 0.2), in decades (regression),
  income a class of ``num_income_groups``, gender 0/1.
- ``sentence_pairs`` (left, right -> similar): two sequences of ``dim``-vectors, each step its
  topic's vector plus N(0, noise); ``similar`` is 1 when both sentences have the same topic (half of them).
- ``camera_pairs`` (left, right -> object): two views of a scene, noise with a square of the
  object's colour at a different place in each view; ``object`` is the class of that colour.

Example:
    >>> data = load_posts(PostsConfig(num_samples=50, length=30, vocab_size=100), seed=0)
    >>> sorted(data.x_train), sorted(data.y_train), data.y_train["income"].dtype.name, data.size("train")
    (['posts'], ['age', 'gender', 'income'], 'int32', 36)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from dltool.config.data import SplitDataConfig
from dltool.config.fields import opt
from dltool.config.registry import option
from dltool.data.base import Dataset, DataSpec, InputSpec, OutputSpec, Source, make_dataset, named_spec
from dltool.errors import ConfigError


@option("data")
@dataclass
class QAConfig(SplitDataConfig):
    """The seeds' two-input model: text and question tokens -> answer (dltool/data/multi_io.py)."""

    source: ClassVar[str] = "dltool.data.multi_io:QA"
    name: str = "qa"
    num_samples: int = opt(2000, "number of generated (text, question, answer) examples", gt=3)
    text_length: int = opt(100, "tokens per text", gt=1)
    question_length: int = opt(20, "tokens per question", gt=0)
    text_vocab_size: int = opt(10000, "text tokens 0..text_vocab_size-1 (1..num_answers are answer markers)", gt=3)
    question_vocab_size: int = opt(10000, "question tokens (1 and 2 ask for the lower or upper answer)", gt=3)
    num_answers: int = opt(500, "number of answer classes", ge=2)
    markers: int = opt(3, "times each marker token is planted", ge=1)


@option("data")
@dataclass
class PostsConfig(SplitDataConfig):
    """The seeds' three-output model: post tokens -> age, income group, gender (dltool/data/multi_io.py)."""

    source: ClassVar[str] = "dltool.data.multi_io:POSTS"
    name: str = "posts"
    num_samples: int = opt(2000, "number of generated posts", gt=3)
    length: int = opt(300, "tokens per post", gt=2)
    vocab_size: int = opt(50000, "tokens 0..vocab_size-1 (the first ones are the planted markers)", gt=3)
    num_income_groups: int = opt(10, "income classes", ge=2)
    age_groups: int = opt(5, "age groups (2, 3, ... decades), each with its marker token", ge=1)
    markers: int = opt(3, "times each marker token is planted", ge=1)


@option("data")
@dataclass
class SentencePairsConfig(SplitDataConfig):
    """The seeds' siamese example: two sequences of word vectors -> same topic or not."""

    source: ClassVar[str] = "dltool.data.multi_io:SENTENCE_PAIRS"
    name: str = "sentence_pairs"
    num_samples: int = opt(2000, "number of generated pairs", gt=3)
    length: int = opt(20, "steps per sentence", gt=0)
    dim: int = opt(128, "size of each step's vector (the seeds' 128)", gt=0)
    topics: int = opt(10, "number of topics", ge=2)
    noise: float = opt(1.0, "standard deviation of the noise added to the topic's vector at each step", ge=0.0)


@option("data")
@dataclass
class CameraPairsConfig(SplitDataConfig):
    """The seeds' dual-camera example: two views of a coloured object -> its class."""

    source: ClassVar[str] = "dltool.data.multi_io:CAMERA_PAIRS"
    name: str = "camera_pairs"
    num_samples: int = opt(600, "number of generated pairs of views", gt=3)
    image_size: int = opt(96, "side of each view (the seeds' 250 is heavy on CPU)", gt=3)
    num_classes: int = opt(4, "object classes, one colour each", ge=2)
    noise: float = opt(0.3, "background noise, as a fraction of full brightness", ge=0.0, le=1.0)


def _plant(tokens: np.ndarray, rng: np.random.Generator, markers: list[np.ndarray], count: int) -> None:
    """Write marker token ``markers[k][i]`` ``count`` times into row ``i``, at distinct random places."""
    places = rng.random(tokens.shape).argsort(axis=1)
    for k, marker in enumerate(markers):
        np.put_along_axis(tokens, places[:, k * count : (k + 1) * count], marker[:, None], axis=1)


def qa_spec(cfg: QAConfig) -> DataSpec:
    """text (text_length,) and question (question_length,) int32 tokens -> answer, one of num_answers."""
    if cfg.text_vocab_size <= cfg.num_answers + 1:
        raise ConfigError(f"data.text_vocab_size={cfg.text_vocab_size}: must exceed num_answers + 1 (marker tokens)")
    if 2 * cfg.markers > cfg.text_length or cfg.markers > cfg.question_length:
        raise ConfigError(f"data.markers={cfg.markers}: at most text_length / 2 and question_length")
    return named_spec(
        {
            "text": InputSpec((cfg.text_length,), "int32", cfg.text_vocab_size),
            "question": InputSpec((cfg.question_length,), "int32", cfg.question_vocab_size),
        },
        {"answer": OutputSpec("multiclass", cfg.num_answers, tuple(str(i) for i in range(cfg.num_answers)))},
    )


def load_qa(cfg: QAConfig, seed: int) -> Dataset:
    """Texts with two planted answers and questions asking for one of them (module docstring)."""
    spec = qa_spec(cfg)
    rng = np.random.default_rng(seed)
    n, half = cfg.num_samples, cfg.num_answers // 2
    lower, upper = rng.integers(0, half, n), rng.integers(half, cfg.num_answers, n)
    asks_upper = rng.integers(0, 2, n)
    text = rng.integers(cfg.num_answers + 1, cfg.text_vocab_size, (n, cfg.text_length))
    _plant(text, rng, [1 + lower, 1 + upper], cfg.markers)
    question = rng.integers(3, cfg.question_vocab_size, (n, cfg.question_length))
    _plant(question, rng, [1 + asks_upper], cfg.markers)
    answer = np.where(asks_upper == 1, upper, lower)
    return make_dataset(spec, cfg, seed, {"text": text, "question": question}, {"answer": answer})


def posts_spec(cfg: PostsConfig) -> DataSpec:
    """posts (length,) int32 tokens -> age (regression), income (num_income_groups classes), gender (binary)."""
    reserved = cfg.num_income_groups + 2 + cfg.age_groups
    if cfg.vocab_size <= reserved + 1:
        raise ConfigError(f"data.vocab_size={cfg.vocab_size}: must exceed {reserved + 1} (token 0 and the markers)")
    if 3 * cfg.markers > cfg.length:
        raise ConfigError(f"data.markers={cfg.markers}: at most length / 3 = {cfg.length // 3}")
    return named_spec(
        {"posts": InputSpec((cfg.length,), "int32", cfg.vocab_size)},
        {
            "age": OutputSpec("regression"),
            "income": OutputSpec.of("multiclass", tuple(str(i) for i in range(cfg.num_income_groups))),
            "gender": OutputSpec("binary", 1, ("0", "1")),
        },
    )


def load_posts(cfg: PostsConfig, seed: int) -> Dataset:
    """Token sequences with planted income, gender and age markers (module docstring)."""
    spec = posts_spec(cfg)
    rng = np.random.default_rng(seed)
    n, groups = cfg.num_samples, cfg.num_income_groups
    income, gender, age_group = rng.integers(0, groups, n), rng.integers(0, 2, n), rng.integers(0, cfg.age_groups, n)
    posts = rng.integers(groups + cfg.age_groups + 3, cfg.vocab_size, (n, cfg.length))
    _plant(posts, rng, [1 + income, 1 + groups + gender, 3 + groups + age_group], cfg.markers)
    age = 2.0 + age_group + rng.normal(0.0, 0.2, n)  # in decades: an MSE of the size of the other losses
    return make_dataset(spec, cfg, seed, {"posts": posts}, {"age": age, "income": income, "gender": gender})


def sentence_pairs_spec(cfg: SentencePairsConfig) -> DataSpec:
    """left and right (length, dim) float sequences -> similar (binary)."""
    shape = (cfg.length, cfg.dim)
    return named_spec(
        {"left": InputSpec(shape), "right": InputSpec(shape)}, {"similar": OutputSpec("binary", 1, ("0", "1"))}
    )


def load_sentence_pairs(cfg: SentencePairsConfig, seed: int) -> Dataset:
    """Pairs of noisy topic sequences, half of the same topic (module docstring)."""
    spec = sentence_pairs_spec(cfg)
    rng = np.random.default_rng(seed)
    n = cfg.num_samples
    topics = rng.standard_normal((cfg.topics, cfg.dim)).astype(np.float32)
    left = rng.integers(0, cfg.topics, n)
    similar = rng.integers(0, 2, n)
    right = np.where(similar == 1, left, (left + rng.integers(1, cfg.topics, n)) % cfg.topics)

    def sentences(topic: np.ndarray) -> np.ndarray:
        noise = rng.standard_normal((n, cfg.length, cfg.dim), dtype=np.float32) * np.float32(cfg.noise)
        return topics[topic][:, None, :] + noise

    return make_dataset(spec, cfg, seed, {"left": sentences(left), "right": sentences(right)}, {"similar": similar})


def camera_pairs_spec(cfg: CameraPairsConfig) -> DataSpec:
    """left and right (image_size, image_size, 3) images in [0, 1] -> object (num_classes classes)."""
    shape = (cfg.image_size, cfg.image_size, 3)
    names = tuple(str(i) for i in range(cfg.num_classes))
    return named_spec(
        {"left": InputSpec(shape), "right": InputSpec(shape)},
        {"object": OutputSpec("multiclass", cfg.num_classes, names)},
    )


def load_camera_pairs(cfg: CameraPairsConfig, seed: int) -> Dataset:
    """Two noisy views of a coloured square, at other places in each view (module docstring)."""
    spec = camera_pairs_spec(cfg)
    rng = np.random.default_rng(seed)
    n, size = cfg.num_samples, cfg.image_size
    colors = rng.integers(0, 256, (cfg.num_classes, 3))
    label = rng.integers(0, cfg.num_classes, n)
    side = max(1, size // 2)  # a quarter of the view: global pooling of the base keeps its colour

    def views() -> np.ndarray:
        images = rng.integers(0, int(256 * cfg.noise) + 1, (n, size, size, 3), dtype=np.uint8)
        rows, cols = rng.integers(0, size - side + 1, (2, n))
        for i in range(n):
            images[i, rows[i] : rows[i] + side, cols[i] : cols[i] + side] = colors[label[i]]
        return images

    return make_dataset(spec, cfg, seed, {"left": views(), "right": views()}, {"object": label}, scale=255.0)


QA = Source(qa_spec, load_qa)
POSTS = Source(posts_spec, load_posts)
SENTENCE_PAIRS = Source(sentence_pairs_spec, load_sentence_pairs)
CAMERA_PAIRS = Source(camera_pairs_spec, load_camera_pairs)
