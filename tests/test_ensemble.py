"""The parameter-efficient ensemble of model=mlp on tables (dltool/models/ensemble.py, the combiner's members)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from dltool.config.regularization import RegularizationConfig
from dltool.data.base import DataSpec
from dltool.errors import ConfigError
from dltool.models import build_model
from dltool.models.ensemble import MemberHeads, MemberInputs
from dltool.models.mlp import MLPConfig

REG = RegularizationConfig()
TABLE = DataSpec((5,), "regression", 1, tabular=True)


def test_member_inputs_scale_each_copy_by_its_own_weights() -> None:
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    layer = MemberInputs(6)
    out = keras.ops.convert_to_numpy(layer(x))
    scales = keras.ops.convert_to_numpy(layer.scales)
    assert out.shape == (3, 6, 4)
    np.testing.assert_allclose(out, x[:, None, :] * scales[None], rtol=1e-6)
    assert np.abs(scales).max() <= 1.0 and scales.std() > 0.3  # uniform in [-1, 1]: the members start apart


def test_member_heads_average_each_members_own_dense_and_activation() -> None:
    x = np.random.default_rng(1).normal(size=(5, 4, 6)).astype("float32")
    layer = MemberHeads(3, activation="softmax")
    out = keras.ops.convert_to_numpy(layer(x))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in (layer.kernel, layer.bias))
    logits = np.einsum("bkf,kfu->bku", x, kernel) + bias
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(out, probabilities.mean(axis=1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)  # an average of distributions is one
    assert kernel.shape == (4, 6, 3) and np.abs(kernel).max() <= np.sqrt(6 / 9)  # each member's Glorot limit


def test_each_members_weights_get_the_gradient_of_that_member_trained_alone() -> None:
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(3).normal(size=(8, 4, 6)), dtype="float32")
    layer = MemberHeads(2, activation="sigmoid")
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        averaged = tf.reduce_mean(layer(x))
        alone = tf.sigmoid(tf.einsum("bkf,kfu->bku", x, layer.kernel) + layer.bias)  # each member on its own
        member_losses = [tf.reduce_mean(alone[:, member]) for member in range(4)]
        losses_mean = tf.reduce_mean(tf.stack(member_losses))
    own = tape.gradient(averaged, layer.kernel).numpy()
    for member in range(4):
        expected = tape.gradient(member_losses[member], layer.kernel).numpy()[member]
        np.testing.assert_allclose(own[member], expected, rtol=1e-5, atol=1e-7)
    # the inputs (the shared layers' outputs) get the members' average gradient, unchanged
    np.testing.assert_allclose(tape.gradient(averaged, x), tape.gradient(losses_mean, x), rtol=1e-5, atol=1e-7)


def test_tables_train_32_members_a_perceptron_one_and_other_data_the_plain_mlp() -> None:
    model = build_model(MLPConfig(), TABLE, REG)
    assert tuple(model.get_layer("members").scales.shape) == (32, 5)
    assert isinstance(model.get_layer("output"), MemberHeads)
    linear = build_model(MLPConfig(hidden_units=[]), TABLE, REG)
    assert "members" not in [layer.name for layer in linear.layers]
    assert linear.count_params() == 5 + 1  # one Dense(1) on 5 columns: an average of linear models is one
    digits = build_model(MLPConfig(), DataSpec((8, 8, 1), "multiclass", 10), REG)
    assert digits.count_params() == 8970  # the course's MLP is unchanged off tables


def test_members_off_tables_is_one_line_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^model\.members=4: .*data=csv.*model\.members=null"):
        build_model(MLPConfig(members=4), DataSpec((8, 8, 1), "multiclass", 10), REG)


def test_an_ensemble_saves_and_loads_in_safe_mode_with_the_same_predictions(tmp_path: Path) -> None:
    model = build_model(MLPConfig(hidden_units=[8], members=3), DataSpec((5,), "multiclass", 4, tabular=True), REG)
    x = np.random.default_rng(2).normal(size=(7, 5)).astype("float32")
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
