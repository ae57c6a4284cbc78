"""PGD training (Xiao et al. 2019): the ε ramp, the L1 term by hand, a repeatable run that learns."""

import dataclasses

import keras
import numpy as np
import pytest

from robustbench_keras import zoo
from robustbench_keras.zoo import cache, pgd_training
from robustbench_keras.zoo.recipes import PGDTraining


def test_attack_epsilon_ramps_linearly_over_the_first_half():
    settings = PGDTraining(epsilon=0.1, start_epsilon=0.01, ramp_fraction=0.5)
    assert [settings.attack_epsilon(s, 100) for s in (0, 25, 50, 99)] == pytest.approx([0.01, 0.055, 0.1, 0.1])
    assert PGDTraining(ramp_fraction=0.0).attack_epsilon(0, 10) == 0.1
    with pytest.raises(ValueError):
        PGDTraining(start_epsilon=0.2)


def test_l1_counts_a_conv_kernel_once_per_output_position():
    model = zoo.build("xiao_conv_pgd", 0)
    kernels = {layer.name: np.abs(layer.kernel.numpy()).sum() for layer in model.layers if hasattr(layer, "kernel")}
    expected = 14 * 14 * kernels["conv_1"] + 7 * 7 * kernels["conv_2"] + kernels["hidden_1"]  # not the logits
    assert float(pgd_training.l1_penalty(model)) == pytest.approx(expected, rel=1e-5)


def test_xiao_nets_have_the_papers_shapes():
    model = zoo.build("xiao_conv_pgd_rs", 0)
    assert [tuple(layer.kernel.shape) for layer in model.layers if hasattr(layer, "kernel")] == [
        (5, 5, 1, 16), (5, 5, 16, 32), (7 * 7 * 32, 100), (100, 10)]
    assert zoo.build("xiao_mlp_pgd", 0).get_layer("hidden_1").activation is keras.activations.relu
    assert zoo.get("xiao_conv_pgd_rs").recipe.pgd.rs_weight == 1e-4
    assert zoo.get("xiao_conv_pgd").recipe.pgd.rs_weight == 0.0


def _reference_convnet(name, downsample):
    """The conv nets layer by layer as they were written before `convnet` took `downsample`."""
    spec = zoo.get(name)
    l2 = [keras.regularizers.L2(f) if f else None for f in spec.recipe.l2_factors()]
    keras.utils.set_random_seed(spec.seed_offset)
    inputs = keras.Input((28, 28), name="image")
    h = keras.layers.Reshape((28, 28, 1), name="channels")(inputs)
    for i, filters in enumerate((16, 32)):
        if downsample == "stride":
            h = keras.layers.Conv2D(filters, 5, strides=2, padding="same", activation="relu",
                                    kernel_regularizer=l2[i], name=f"conv_{i + 1}")(h)
        else:
            h = keras.layers.Conv2D(filters, 5, activation="relu", kernel_regularizer=l2[i], name=f"conv_{i + 1}")(h)
            h = keras.layers.MaxPooling2D(2, name=f"pool_{i + 1}")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dense(100, "relu", kernel_regularizer=l2[2], name="hidden_1")(h)
    return keras.Model(inputs, keras.layers.Dense(10, kernel_regularizer=l2[3], name="logits")(h), name=name)


@pytest.mark.parametrize("name, downsample", [("xiao_conv_pgd", "stride"), ("mnist_convnet_seed1", "pool")])
def test_conv_nets_keep_their_layers_and_bytes(name, downsample):
    built = zoo.build(name, 0)
    assert cache.keras_bytes(built) == cache.keras_bytes(_reference_convnet(name, downsample))


def test_same_seed_gives_the_same_weights_and_training_lowers_the_loss(small_mnist):
    x, y = small_mnist.x_train[:256], small_mnist.y_train[:256]
    recipe = zoo.get("xiao_mlp_pgd_rs").recipe
    recipe = recipe.replace(epochs=2, pgd=dataclasses.replace(recipe.pgd, num_steps=2, ramp_fraction=0.0))
    model = zoo.build("xiao_mlp_pgd_rs", 0, recipe)
    initial = model.get_weights()
    runs = []
    for _ in range(2):
        model.set_weights(initial)
        history = pgd_training.train(model, recipe, x, y, seed=3, progress=False)["history"]
        runs.append(([{k: v for k, v in row.items() if k != "time_s"} for row in history], model.get_weights()))
    assert runs[0][0] == runs[1][0]
    assert all(np.array_equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    assert not np.array_equal(initial[0], runs[0][1][0])
    assert runs[0][0][1]["loss"] < runs[0][0][0]["loss"] and runs[0][0][1]["attack_epsilon"] == pytest.approx(0.1)
