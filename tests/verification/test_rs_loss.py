"""The ReLU-stability loss against a hand computation on a net with hand-set weights."""

import keras
import numpy as np
import pytest

from robustbench_keras.verification.rs_loss import relu_stability_loss


def test_rs_loss_matches_hand_computation():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, "relu"), keras.layers.Dense(1, "relu"), keras.layers.Dense(2)])
    model.layers[0].set_weights([np.array([[1.0, -2.0], [1.0, 1.0]]), np.array([-0.5, 0.25])])
    model.layers[1].set_weights([np.array([[1.0], [-1.0]]), np.array([0.1])])
    model.layers[2].set_weights([np.ones((1, 2)), np.zeros(2)])
    x = np.array([[0.05, 0.5]], dtype="float32")
    # ball clipped to [0, 1]: x1 in [0, 0.15], x2 in [0.4, 0.6]
    # unit 1: x1 + x2 − 0.5 in [−0.1, 0.25]; unit 2: −2 x1 + x2 + 0.25 in [0.35, 0.85]
    # relu: [0, 0.25] and [0.35, 0.85]; layer 2: a1 − a2 + 0.1 in [−0.75, 0.0]
    expected = -(np.tanh(1 - 0.1 * 0.25) + np.tanh(1 + 0.35 * 0.85) + np.tanh(1 - 0.75 * 0.0))
    assert float(relu_stability_loss(model, x, 0.1)) == pytest.approx(expected, abs=1e-6)
    twice = np.concatenate([x, x])
    assert float(relu_stability_loss(model, twice, 0.1)) == pytest.approx(expected, abs=1e-6)
