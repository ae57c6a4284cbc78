"""The attack objective: loss values against NumPy, gradient against finite differences."""

import numpy as np
import pytest

from robustbench_keras.attacks.objective import make_value_and_gradients, objective_formula, target_margin
from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()


def test_target_margin_matches_numpy():
    logits = np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 0.2]], np.float32)
    np.testing.assert_allclose(target_margin(tf.constant(logits), tf.constant([1, 1])), [1.0, -1.5])


@pytest.mark.parametrize("loss", ["margin", "cross_entropy"])
def test_objective_value_and_gradient(mlp, test_sample, loss):
    x, _, targets = test_sample
    n = 4
    flat = x[:n].reshape(n, -1)
    c = np.array([0.5, 1.0, 2.0, 4.0], np.float32)
    rng = np.random.default_rng(0)
    # A point whose pixels all lie strictly inside the box, so that no clip kink is crossed.
    r = (np.clip(flat + rng.normal(scale=0.05, size=flat.shape), 0.01, 0.99) - flat).astype(np.float32)
    f = make_value_and_gradients(mlp, tf.constant(flat), tf.constant(targets[:n].astype(np.int32)), tf.constant(c),
                                 loss, 0.1 if loss == "margin" else 0.0, (28, 28))
    value, gradient, _ = f(tf.constant(r))

    logits = mlp.predict(np.clip(flat + r, 0, 1).reshape(n, 28, 28), verbose=0).astype(np.float64)
    t = targets[:n]
    if loss == "margin":
        others = np.where(np.arange(10) == t[:, None], -np.inf, logits).max(axis=1)
        expected_loss = np.maximum(0.1 - (logits[np.arange(n), t] - others), 0) ** 2
    else:
        shifted = logits - logits.max(axis=1, keepdims=True)
        expected_loss = -(shifted[np.arange(n), t] - np.log(np.exp(shifted).sum(axis=1)))
    np.testing.assert_allclose(value, c * np.sum(r.astype(np.float64) ** 2, axis=1) + expected_loss, rtol=1e-4, atol=1e-5)

    # Directional derivatives by central differences (float32 model, so a moderate step).
    direction = rng.normal(size=flat.shape).astype(np.float32)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    h = 1e-3
    plus, _, _ = f(tf.constant(r + h * direction))
    minus, _, _ = f(tf.constant(r - h * direction))
    numeric = (plus.numpy().astype(np.float64) - minus.numpy()) / (2 * h)
    analytic = np.sum(gradient.numpy() * direction, axis=1)
    np.testing.assert_allclose(analytic, numeric, rtol=2e-2, atol=2e-3)


def test_clipped_pixels_get_only_the_penalty_gradient(mlp, test_sample):
    x, _, targets = test_sample
    flat = x[:1].reshape(1, -1)
    r = np.where(flat == 0, -0.3, 0.0).astype(np.float32)  # pushed outside the box: clipped back to 0
    f = make_value_and_gradients(mlp, tf.constant(flat), tf.constant(targets[:1].astype(np.int32)),
                                 tf.constant([2.0]), "margin", 0.1, (28, 28))
    _, gradient, _ = f(tf.constant(r))
    outside = r[0] < 0
    np.testing.assert_allclose(gradient.numpy()[0, outside], 2 * 2.0 * r[0, outside], rtol=1e-6)


def test_formula_names_the_loss():
    assert "cross_entropy" in objective_formula("cross_entropy", 0.1)
    assert "max(0, 0.1 - " in objective_formula("margin", 0.1)
