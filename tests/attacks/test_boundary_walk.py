"""The boundary walk and the DDN second start: against the closed-form projection onto a hyperplane, a
brute-force search on a piecewise-linear boundary whose closest point is a kink, and a two-basin net whose
nearest boundary point is known in closed form."""

import keras
import numpy as np

from robustbench_keras.attacks.boundary_walk import ddn, walk
from robustbench_keras.attacks.settings import AttackSettings
from robustbench_keras.attacks.solver import BatchSolver
from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()
MARGIN = 1e-3


def _run(margin, x, x_adv, active, num_steps=100):
    compiled = tf.function(lambda x, x_adv, active: walk(margin, x, x_adv, active, num_steps=num_steps, step=0.3,
                                                         gamma=0.02, success_margin=MARGIN))
    return compiled(tf.constant(x, tf.float32), tf.constant(x_adv, tf.float32), tf.constant(active)).numpy()


def test_walk_slides_along_a_hyperplane_to_the_projection():
    # margin w.p + b: the closest adversarial is x + (MARGIN - w.x - b) w / ||w||^2, distance known in closed form.
    rng = np.random.default_rng(0)
    w = rng.normal(size=(1, 50)).astype(np.float32)
    x = 0.5 + rng.uniform(-0.05, 0.05, (3, 50)).astype(np.float32)
    b = -(x @ w[0]) - 0.5  # every row 0.5 short of the target
    exact = (MARGIN + 0.5) / np.linalg.norm(w)
    # Start at a boundary point 60% farther than the optimum, displaced along the hyperplane.
    tangent = rng.normal(size=(3, 50)).astype(np.float32)
    tangent -= (tangent @ w[0])[:, None] * w / np.sum(w * w)
    tangent *= (exact * np.sqrt(1.6 ** 2 - 1) / np.linalg.norm(tangent, axis=1))[:, None]
    start = x + (exact * 1.001) * w / np.linalg.norm(w) + tangent
    active = np.array([True, True, False])
    result = _run(lambda p: tf.reduce_sum(p * w, -1) + b, x, start, active)
    distance = np.linalg.norm(result - x, axis=1)
    assert np.all(result @ w[0] + b > MARGIN)  # still adversarial
    np.testing.assert_allclose(distance[:2], exact, rtol=0.01)
    np.testing.assert_array_equal(result[2], start[2])  # an inactive row is returned unchanged


def test_walk_reaches_the_kink_of_a_relu_boundary_found_by_brute_force():
    # margin min(a1.p + b1, a2.p + b2) = u - relu(u - v), a one-unit ReLU net: the target region is a wedge whose
    # closest point to x is its corner, where the margin has no gradient parallel to r.
    a = np.array([[1.0, 0.3], [-0.4, 1.0]], np.float32)
    offsets = np.array([-0.62, -0.55], np.float32)
    x = np.array([[0.3, 0.3]], np.float32)

    def margin(p):
        u = tf.reduce_sum(p * a[0], -1) + offsets[0]
        v = tf.reduce_sum(p * a[1], -1) + offsets[1]
        return u - tf.nn.relu(u - v)

    grid = np.stack(np.meshgrid(np.linspace(0, 1, 2001), np.linspace(0, 1, 2001)), -1).reshape(-1, 2)
    adversarial = np.minimum(grid @ a[0] + offsets[0], grid @ a[1] + offsets[1]) > MARGIN
    brute_force = np.min(np.linalg.norm(grid[adversarial] - x, axis=1))
    start = np.array([[0.7, 0.84]], np.float32)  # near the edge v = 0, 58% farther than the corner
    result = _run(margin, x, start, np.array([True]), num_steps=200)
    assert margin(tf.constant(result)).numpy()[0] > MARGIN
    assert np.linalg.norm(result - x) <= brute_force * 1.01, (np.linalg.norm(result - x), brute_force)


def _hyperplane(num_rows=3, dimension=50):
    """margin w.p + b with every row 0.5 short of the target; (margin, w, b, x, exact distance)."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(1, dimension)).astype(np.float32)
    x = 0.5 + rng.uniform(-0.05, 0.05, (num_rows, dimension)).astype(np.float32)
    b = -(x @ w[0]) - 0.5
    return (lambda p: tf.reduce_sum(p * w, -1) + b), w, b, x, (MARGIN + 0.5) / np.linalg.norm(w)


def test_ddn_from_the_clean_input_reaches_the_hyperplane_projection_within_its_norm_step():
    margin, w, b, x, exact = _hyperplane()
    active = np.array([True, True, False])
    fallback = np.ones_like(x)
    compiled = tf.function(lambda x, active: ddn(margin, x, fallback, active, num_steps=100, success_margin=MARGIN))
    best = compiled(tf.constant(x), tf.constant(active)).numpy()
    distance = np.linalg.norm(best - x, axis=1)
    assert np.all(best[:2] @ w[0] + b[:2] > MARGIN)
    assert np.all((distance[:2] >= exact * (1 - 1e-4)) & (distance[:2] <= exact * 1.05)), distance / exact
    np.testing.assert_array_equal(best[2], fallback[2])  # an inactive row is its fallback


def _two_basins():
    """A 2-D net whose target region is the union of two half-planes: margin max(p1 - 0.5, p2 - 0.65). From
    x = (0.3, 0.3) the near basin is at distance 0.2 + MARGIN (along p1), the far one at 0.35 + MARGIN."""
    inputs = keras.Input((2,))
    pieces = [keras.layers.Dense(1), keras.layers.Dense(1), keras.layers.Dense(1)]
    zero, u, v = (piece(inputs) for piece in pieces)
    model = keras.Model(inputs, keras.layers.Concatenate()([zero, keras.layers.Maximum()([u, v])]))
    for piece, weights, bias in zip(pieces, ([0.0, 0.0], [1.0, 0.0], [0.0, 1.0]), (0.0, -0.5, -0.65)):
        piece.set_weights([np.array(weights, np.float32)[:, None], np.array([bias], np.float32)])
    return model


def test_the_ddn_start_finds_the_near_basin_that_the_walk_from_the_far_one_cannot_reach():
    model = _two_basins()
    x = np.array([[0.3, 0.3]], np.float32)
    far = np.array([[0.3, 0.65 + 2 * MARGIN]], np.float32)  # adversarial, in the far basin
    targets, active = np.array([1], np.int32), np.array([True])
    settings = AttackSettings(batch_size=1, jit_compile=False, num_projection_steps=0, num_restart_steps=0,
                              success_margin=MARGIN)
    solver = BatchSolver(model, (2,), settings)
    walked = solver.walk(x, targets, far, active).numpy()
    np.testing.assert_allclose(np.linalg.norm(walked - x), 0.35 + MARGIN, rtol=1e-3)  # the walk stays in its basin
    result = solver.polished(x, targets, far, active)
    assert model(result).numpy()[0, 1] > MARGIN
    np.testing.assert_allclose(np.linalg.norm(result - x), 0.2 + MARGIN, rtol=1e-2)  # the second start leaves it
