"""PGD against the closed-form worst case of a two-class affine model, and its box and ball."""

import keras
import numpy as np

from robustbench_keras.attacks.pgd import pgd_attack


def test_pgd_reaches_the_closed_form_worst_corner_of_an_affine_model():
    # Two logits: the cross-entropy of label 0 grows with (w1 − w0)·x, so the worst input of the
    # clipped ball is x + ε·sign(w1 − w0), clipped to [0, 1]; steps of 2ε reach it from any start.
    rng = np.random.default_rng(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])
    weight = rng.normal(size=(6, 2)).astype("float32")
    model.layers[0].set_weights([weight, np.zeros(2, "float32")])
    x = rng.uniform(0, 1, size=(5, 6)).astype("float32")
    x[0, :2] = [0.02, 0.99]  # near the box's faces: the clip matters
    epsilon = 0.1
    x_adv = pgd_attack(model, x, np.zeros(5, np.int64), epsilon, num_steps=3, step_size=2 * epsilon, seed=1)
    expected = np.clip(x + epsilon * np.sign(weight[:, 1] - weight[:, 0]), 0, 1)
    np.testing.assert_allclose(x_adv, expected, atol=1e-6)


def test_pgd_stays_in_the_ball_and_the_box():
    model = keras.Sequential([keras.Input((4, 4)), keras.layers.Flatten(), keras.layers.Dense(8, "relu"),
                              keras.layers.Dense(3)])
    x = np.random.default_rng(1).uniform(0, 1, size=(7, 4, 4)).astype("float32")
    x_adv = pgd_attack(model, x, np.arange(7) % 3, 0.05, num_steps=4, batch_size=3)
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert np.abs(x_adv - x).max() <= 0.05 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
