"""A random mask zeroes exactly its chosen units, and survives save / load (Keras safe mode, our safe loader)."""

import numpy as np
import pytest

from robustbench_keras import zoo
from robustbench_keras.defenses.random_mask import RandomMask, mask_values
from robustbench_keras.submission.loading import load_submitted_model

import keras


def test_mask_values_zero_the_seeded_share():
    mask = mask_values((24, 24, 16), 0.5, seed=3)
    assert mask.shape == (24, 24, 16) and set(np.unique(mask)) == {0.0, 1.0}
    assert int((mask == 0).sum()) == round(0.5 * 24 * 24 * 16)
    np.testing.assert_array_equal(mask, mask_values((24, 24, 16), 0.5, seed=3))
    assert not np.array_equal(mask, mask_values((24, 24, 16), 0.5, seed=4))


def test_layer_zeroes_exactly_the_masked_units():
    layer = RandomMask(0.3, seed=1)
    x = np.random.default_rng(0).random((2, 4, 5, 3)).astype(np.float32) + 1.0  # no zero inputs
    y = np.asarray(layer(x))
    mask = mask_values((4, 5, 3), 0.3, seed=1)
    np.testing.assert_array_equal(y == 0, np.broadcast_to(mask == 0, y.shape))
    np.testing.assert_array_equal(y[:, mask == 1], x[:, mask == 1])
    assert layer.trainable_weights == []


def test_ratio_outside_range_is_refused():
    with pytest.raises(ValueError, match="ratio in \\[0, 1\\)"):
        RandomMask(1.0)


@pytest.fixture(scope="module")
def masked_convnet():
    return zoo.build("mnist_convnet_mask50", seed=0)


def test_masked_convnet_masks_conv_1_and_zeroes_those_activations(masked_convnet):
    spec = zoo.get("mnist_convnet_mask50")
    mask_layer = masked_convnet.get_layer("mask_1")
    assert (mask_layer.ratio, mask_layer.seed) == (spec.mask_ratio, spec.mask_seed) == (0.5, 2)
    probe = keras.Model(masked_convnet.input, mask_layer.output)
    x = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    masked = np.asarray(probe(x))
    assert np.all(masked[:, mask_layer.mask.numpy() == 0] == 0)
    assert "random mask zeroing 50%" in spec.architecture


def test_mask_survives_keras_safe_mode_and_the_submission_loader(masked_convnet, tmp_path):
    path = tmp_path / "masked.keras"
    masked_convnet.save(path)
    x = np.random.default_rng(1).random((4, 28, 28)).astype(np.float32)
    expected = np.asarray(masked_convnet(x))
    for loaded in (keras.saving.load_model(path, safe_mode=True), load_submitted_model(path)):
        np.testing.assert_array_equal(loaded.get_layer("mask_1").mask.numpy(),
                                      masked_convnet.get_layer("mask_1").mask.numpy())
        np.testing.assert_allclose(np.asarray(loaded(x)), expected, rtol=1e-6, atol=1e-6)
