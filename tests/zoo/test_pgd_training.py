"""PGD training (Xiao et al. 2019): the ε ramp, the L1 term by hand, a repeatable run that learns."""

import dataclasses

import keras
import numpy as np
import pytest

from robustbench_keras import zoo
from robustbench_keras.zoo import pgd_training
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
