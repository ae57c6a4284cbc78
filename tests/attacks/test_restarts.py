"""The stroke and competitor starts: the weights against SciPy's Gaussian filter, a net whose near basin only
the stroke-weighted steps reach (closed form), and each start on a linear model against the exact QP optimum."""

import keras
import numpy as np
from scipy.ndimage import gaussian_filter

from robustbench_keras.attacks.qp_oracle import affine_parameters, exact_minimal_distortion
from robustbench_keras.attacks.restarts import stroke_weights
from robustbench_keras.attacks.settings import AttackSettings
from robustbench_keras.attacks.solver import BatchSolver

MARGIN = 1e-3
ONLY_RESTARTS = dict(jit_compile=False, num_projection_steps=0, num_ddn_steps=0, num_walk_steps=0,
                     success_margin=MARGIN)


def test_stroke_weights_are_the_rim_of_the_blurred_strokes(test_sample):
    x = test_sample[0][:4].astype(np.float64)
    blurred = gaussian_filter(x, sigma=(0, 1, 1), mode="constant")
    blurred /= blurred.reshape(4, -1).max(axis=1)[:, None, None]
    expected = (0.1 + 4 * blurred * (1 - blurred)).reshape(4, -1)
    np.testing.assert_allclose(stroke_weights(x.reshape(4, -1).astype(np.float32), (28, 28), floor=0.1, sigma=1.0),
                               expected, atol=1e-5)


def _two_basins():
    """A 3-D net, class 1's logit max(u, v) against 0: u = 0.3 p0 + p2 - 0.45 and v = 3 p0 - 2.1. From
    x = (0.5, 1, 0) the u basin is at distance 0.3 / ||(0.3, 0, 1)|| = 0.287 and is the max at x, which draws
    the margin's gradient; the v basin, at 0.2 + MARGIN / 3 along p0, is closer. x's stroke weights are
    (1.03, 0.03, 0.03): the weighted steps go along p0, where v rises 3x faster and takes over."""
    inputs = keras.Input((3,))
    pieces = [keras.layers.Dense(1) for _ in range(3)]
    zero, u, v = (piece(inputs) for piece in pieces)
    model = keras.Model(inputs, keras.layers.Concatenate()([zero, keras.layers.Maximum()([u, v])]))
    for piece, weights, bias in zip(pieces, ([0, 0, 0], [0.3, 0, 1], [3, 0, 0]), (0.0, -0.45, -2.1)):
        piece.set_weights([np.array(weights, np.float32)[:, None], np.array([bias], np.float32)])
    return model


def test_the_stroke_start_reaches_the_near_basin_that_unweighted_ddn_misses():
    model = _two_basins()
    x = np.array([[0.5, 1.0, 0.0]], np.float32)
    far = np.array([[0.5, 1.0, 0.3 + 2 * MARGIN]], np.float32)  # adversarial, in the u basin
    targets, active = np.array([1], np.int32), np.array([True])
    near, u_basin = 0.2 + MARGIN / 3, 0.3 / np.hypot(0.3, 1.0)

    def solver(**settings):
        return BatchSolver(model, (3,), AttackSettings(batch_size=1, **{**ONLY_RESTARTS, **settings}))

    def distance(result):
        assert model(result).numpy()[0, 1] > MARGIN
        return np.linalg.norm(result - x)

    # Unweighted DDN from x and the walk stay in the u basin (its closest point, or the start)...
    unweighted = solver(num_ddn_steps=100, num_walk_steps=100, num_restart_steps=0).polished(x, targets, far, active)
    assert distance(unweighted) >= u_basin * (1 - 1e-3)
    # ... the stroke start alone leaves it for the v basin's closest point.
    stroke = solver(num_restart_steps=50).stroke_start(x, targets, far, active).numpy()
    np.testing.assert_allclose(distance(stroke), near, rtol=1e-2)


def test_each_start_lands_at_the_exact_optimum_of_a_linear_model(fc10, test_sample):
    x, _, targets = test_sample
    flat = x.reshape(len(x), -1)
    w, b = affine_parameters(fc10, (28, 28))
    exact = exact_minimal_distortion(w, b, x, targets)
    # Start from a point 50% farther along the optimal direction: adversarial on an affine model where in the box.
    start = np.clip(flat + 1.5 * (exact.x_opt.reshape(len(x), -1) - flat), 0, 1).astype(np.float32)
    logits = np.asarray(fc10(start.reshape(x.shape)))
    active = np.argmax(logits, axis=1) == targets
    assert active.mean() > 0.8
    # Twice the default steps: on this affine model 50 + 50 leave half of the examples over 1% above the optimum.
    settings = AttackSettings(batch_size=len(x), num_restart_steps=100, num_restart_walk_steps=100, **ONLY_RESTARTS)
    solver = BatchSolver(fc10, (28, 28), settings)
    for start_kind in (solver.stroke_start, solver.competitor_start):
        result = start_kind(flat, targets.astype(np.int32), start, active).numpy()
        adversarial = np.argmax(np.asarray(fc10(result.reshape(x.shape))), axis=1) == targets
        assert adversarial[active].all()
        ratio = np.linalg.norm(result - flat, axis=1)[active] / exact.distance[active]
        assert ratio.min() >= 1 - 1e-4  # nothing beats the certified optimum
        assert np.mean(ratio <= 1.01) >= 0.9 and ratio.max() <= 1.05, np.sort(ratio)[-5:]
