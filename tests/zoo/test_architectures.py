"""Every zoo model's layers against the paper's numbers (Szegedy et al. 2014, Tables 1 and 3)."""

import numpy as np
import pytest

from robustbench_keras import zoo
from robustbench_keras.scorers.unit_semantics import find_layer

# The paper's architectures and weight decays λ per weight layer, written out independently of the zoo.
# Each layer's Keras L2 factor must be λ / 2 (the convention documented in zoo/recipes.py).
PAPER_DENSE = {
    "fc10_wd1e-4": ((), (1e-4,)),
    "fc10_wd1e-2": ((), (1e-2,)),
    "fc10_wd1": ((), (1.0,)),
    "fc100_100_10": ((100, 100), (1e-5, 1e-5, 1e-6)),
    "fc200_200_10": ((200, 200), (1e-5, 1e-5, 1e-6)),
    "ae400_10": ((400,), (1e-6, 1e-6)),
    "fc100_100_10_p1": ((100, 100), (1e-5, 1e-5, 1e-6)),
    "fc123_456_10_p1": ((123, 456), (1e-5, 1e-5, 1e-6)),
    "fc100_100_10_p2": ((100, 100), (1e-5, 1e-5, 1e-6)),
}


def l2_of(layer):
    regularizer = layer.get_config()["kernel_regularizer"]
    return 0.0 if regularizer is None else regularizer["config"]["l2"]


def check_zoo_model(model):
    """Input (28, 28), logits (N, 10) that are not probabilities, a linear "logits" layer."""
    assert tuple(model.input_shape) == (None, 28, 28)
    assert tuple(model.output_shape) == (None, 10)
    assert model.layers[-1].name == "logits"
    assert model.get_layer("logits").get_config()["activation"] == "linear"
    rng = np.random.default_rng(0)
    logits = model.predict(rng.uniform(0, 1, (8, 28, 28)).astype(np.float32), verbose=0)
    assert logits.shape == (8, 10)
    assert logits.min() < 0 or not np.allclose(logits.sum(axis=1), 1.0)


@pytest.mark.parametrize("model_id", sorted(PAPER_DENSE))
def test_dense_models_have_the_papers_layers_and_weight_decays(model_id):
    hidden_units, decays = PAPER_DENSE[model_id]
    model = zoo.build(model_id, seed=0)
    check_zoo_model(model)
    dense = [model.get_layer(f"hidden_{i + 1}") for i in range(len(hidden_units))] + [model.get_layer("logits")]
    assert [layer.name for layer in model.layers if layer.get_config().get("units")] == [d.name for d in dense]
    assert [layer.get_config()["units"] for layer in dense] == list(hidden_units) + [10]
    assert [layer.get_config()["activation"] for layer in dense[:-1]] == ["sigmoid"] * len(hidden_units)
    assert [l2_of(layer) for layer in dense] == pytest.approx([d / 2 for d in decays], rel=1e-6)
    assert all(layer.get_config()["bias_regularizer"] is None for layer in dense)
    assert dense[0].kernel.shape == (784, hidden_units[0] if hidden_units else 10)


def test_convnet_is_conv_relu_pool_twice_then_dense_relu_then_logits():
    model = zoo.build("mnist_convnet", seed=0)
    check_zoo_model(model)
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["Reshape", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    for name in ("conv_1", "conv_2", "hidden_1"):
        assert model.get_layer(name).get_config()["activation"] == "relu"
    assert model.get_layer("conv_1").kernel.shape == (5, 5, 1, 16)
    assert model.get_layer("conv_2").kernel.shape == (5, 5, 16, 32)
    assert model.get_layer("hidden_1").kernel.shape == (4 * 4 * 32, 100)


def test_the_studied_layer_of_a_zoo_model_is_its_last_hidden_layer():
    model = zoo.build("fc123_456_10_p1")
    assert find_layer(model) == "hidden_2"
    assert model.get_layer(find_layer(model)).get_config()["units"] == 456
    assert find_layer(zoo.build("ae400_10")) == "hidden_1"
    assert find_layer(zoo.build("mnist_convnet")) == "hidden_1"
    assert find_layer(zoo.build("fc10_wd1")) == "flatten"  # softmax regression: only the pixels feed the logits


def test_build_with_the_same_seed_gives_the_same_initial_weights():
    first, again, other = (zoo.build("fc100_100_10", seed=s) for s in (3, 3, 4))
    for a, b, c in zip(first.get_weights(), again.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])
