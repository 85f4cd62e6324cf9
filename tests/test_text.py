"""Text folders out of the box: the TF-IDF bag for the default model, token sequences for models that embed
them, the Transformer encoder, and files that are not UTF-8."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from dltool.config import compose, validate
from dltool.config.regularization import RegularizationConfig
from dltool.data import DataSpec, data_spec, load_dataset
from dltool.data.text import IMDBConfig, TextFolderConfig
from dltool.errors import ConfigError
from dltool.models import build_model
from dltool.models.transformer import TransformerConfig
from tests.conftest import train_in_process
from tests.textgen import news_folder

SMALL = {"per_topic": 60, "common": 400, "topic_words": 40, "length": (40, 100), "topic_share": 0.2}


def _run(root: Path, *overrides: str) -> list[str]:
    return ["data=text_folder", f"data.root={root}", "callbacks=minimal", *overrides]


@pytest.mark.parametrize(
    ("model", "vectorize", "shape", "dtype"),
    [
        ("mlp", "tf_idf", (500,), "float32"),
        ("perceptron", "tf_idf", (500,), "float32"),
        ("rnn", "int", (30,), "int32"),
        ("conv1d", "int", (30,), "int32"),
        ("transformer", "int", (30,), "int32"),
    ],
)
def test_the_vectorization_follows_the_model_family(
    tmp_path: Path, model: str, vectorize: str, shape: tuple, dtype: str
) -> None:
    news_folder(tmp_path, topics=2, per_topic=1)
    run = validate(compose([*_run(tmp_path, f"model={model}"), "data.vocab_size=500", "data.sequence_length=30"]))
    spec = data_spec(run.data)
    assert (run.data.vectorize, spec.input_shape, spec.input_dtype) == (vectorize, shape, dtype)


def test_a_chosen_vectorization_is_kept_and_an_mlp_on_tokens_says_what_reads_them(tmp_path: Path) -> None:
    news_folder(tmp_path, topics=2, per_topic=1)
    run = validate(compose([*_run(tmp_path), "data.vectorize=int"]))
    assert run.data.vectorize == "int"
    with pytest.raises(ConfigError, match=r"model=mlp cannot read integer tokens .*transformer"):
        build_model(run.model, data_spec(run.data), run.regularization)
    with pytest.raises(ConfigError, match=r"data.vectorize=bag: .*tf_idf"):
        validate(compose([*_run(tmp_path), "data.vectorize=bag"]))


def test_the_default_model_classifies_a_news_folder_from_tf_idf_bags_and_names_a_latin1_file(tmp_path: Path) -> None:
    root = news_folder(tmp_path / "news", **SMALL)
    (root / "topic0" / "latin1.txt").write_bytes("Très bon café, à côté du théâtre.".encode("latin-1"))
    (tmp_path / "run").mkdir()
    out = train_in_process(tmp_path / "run", *_run(root), "data.vocab_size=3000", "trainer.epochs=10")
    assert out["status"] == "completed" and out["data"]["input_shape"] == [3000]
    assert out["test_accuracy"] >= 0.9, out["test_accuracy"]  # five topics: chance is 0.2
    not_utf8, bag = out["data"]["decisions"]
    assert not_utf8.startswith("1 file is not UTF-8 (") and "latin1.txt" in not_utf8
    assert bag.startswith("vectorize=tf_idf: each text is a TF-IDF bag of its words and word pairs (3000 features")


def test_tf_idf_bags_have_one_length_set_by_the_training_split(tmp_path: Path) -> None:
    root = news_folder(tmp_path, topics=2, per_topic=20, common=50, topic_words=10, length=(10, 40))
    (root / "topic1" / "short.txt").write_text("Yes.")
    data = load_dataset(TextFolderConfig(root=str(root), vocab_size=200, vectorize="tf_idf", test_split=0.5), 0)
    assert data.x_train.dtype == np.float32 and data.x_train.shape[1] == data.x_test.shape[1] == 200
    length = np.sqrt(np.count_nonzero(data.x_train, axis=1).mean())  # a typical word weighs about 1
    for x in (data.x_train, data.x_val, data.x_test):
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), length, rtol=1e-5)
    assert len({tuple(r) for r in data.x_train.round(5).tolist()}) == len(data.x_train)  # one bag per text


def test_imdb_reviews_become_tf_idf_bags_of_their_word_ids(tmp_path: Path) -> None:
    reviews = np.empty(6, dtype=object)
    reviews[:] = [[5, 6, 7], [5, 6], [8, 9], [8, 9, 9], [5, 7], [9, 8]]
    np.savez(tmp_path / "imdb.npz", x_train=reviews, y_train=[1, 1, 0, 0, 1, 0], x_test=reviews, y_test=[1] * 6)
    data = load_dataset(IMDBConfig(root=str(tmp_path), vocab_size=12, vectorize="tf_idf", validation_split=0), 0)
    assert data.x_test.shape == (6, 12) and data.x_test.dtype == np.float32
    same, other = data.x_test[0] @ data.x_test[1], data.x_test[0] @ data.x_test[2]
    assert same > 0.3 and other == 0.0  # reviews sharing word ids (and the pair 5 6) are close; others orthogonal


def test_transformer_parameters_match_its_documented_count() -> None:
    spec = DataSpec((200,), "multiclass", 5, input_dtype="int32", vocab_size=10000)
    model = build_model(TransformerConfig(), spec, RegularizationConfig())
    # embedding 640,000 + positions 12,800 + one block 33,472 + output 64*5+5
    assert model.count_params() == 640_000 + 12_800 + 33_472 + 325
    with pytest.raises(ConfigError, match=r"model.num_heads=3: must divide model.embedding_dim=64"):
        build_model(TransformerConfig(num_heads=3), spec, RegularizationConfig())


def test_transformer_trains_on_a_text_folder_and_its_checkpoint_loads(tmp_path: Path) -> None:
    root = news_folder(tmp_path / "news", topics=3, per_topic=20, common=100, topic_words=20, length=(10, 30))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    overrides = ["model=transformer", "data.vocab_size=300", "data.sequence_length=32", "trainer.epochs=1"]
    out = train_in_process(run_dir, *_run(root), *overrides)
    assert out["status"] == "completed" and out["epochs_run"] == 1
    model = keras.saving.load_model(run_dir / "checkpoints" / "last.keras")
    assert type(model.get_layer("positions")).__name__ == "PositionEmbedding"
    assert model.get_layer("positions").get_config()["max_length"] == 32
    tokens = np.random.default_rng(0).integers(0, 300, (4, 32)).astype("int32")
    rebuilt = keras.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt.predict(tokens, verbose=0), model.predict(tokens, verbose=0), rtol=1e-5)
