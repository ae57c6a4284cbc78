"""Short real training runs: they learn, and the same seed gives the same weights."""

import numpy as np

from robustbench_keras import zoo
from robustbench_keras.evaluation import error_rate
from robustbench_keras.zoo import training


def train_briefly(model_id, data, seed=0, **changes):
    recipe = zoo.get(model_id).recipe.replace(**changes)
    model = zoo.build(model_id, seed=seed, recipe=recipe)
    x, y = data.split("train")
    return training.train(model, recipe, x, y, seed=seed, progress=False)


def test_a_short_run_clearly_beats_chance_on_held_out_test_images(small_mnist):
    model = train_briefly("fc100_100_10", small_mnist, epochs=6)
    x_test, y_test = small_mnist.split("test")
    # Chance is 90% error; 6 epochs of SGD on 5,000 images give about 18%.
    assert error_rate(model, x_test, y_test) < 0.3


def test_the_conv_net_learns_in_one_epoch(small_mnist):
    model = train_briefly("mnist_convnet", small_mnist, epochs=1)
    assert error_rate(model, *small_mnist.split("test")) < 0.4


def test_autoencoder_pretraining_trains_the_encoder_and_then_the_classifier_learns(small_mnist):
    recipe = zoo.get("ae400_10").recipe.replace(
        pretrain_epochs=1, epochs=2, learning_rate=0.02, train_pretrained=False
    )
    model = zoo.build("ae400_10", seed=0, recipe=recipe)
    initial_encoder = model.get_layer("hidden_1").get_weights()[0].copy()
    x, y = small_mnist.split("train")
    training.train(model, recipe, x, y, seed=0, progress=False)
    assert not np.allclose(model.get_layer("hidden_1").get_weights()[0], initial_encoder)
    assert model.get_layer("hidden_1").trainable  # restored after the frozen supervised phase
    assert error_rate(model, *small_mnist.split("test")) < 0.4


def test_the_same_seed_gives_the_same_weights(small_mnist):
    data = small_mnist
    first, again = (train_briefly("fc10_wd1e-4", data, seed=7, epochs=1) for _ in range(2))
    other = train_briefly("fc10_wd1e-4", data, seed=8, epochs=1)
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])

