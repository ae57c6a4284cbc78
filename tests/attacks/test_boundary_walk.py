"""The boundary walk: against the closed-form projection onto a hyperplane and a brute-force search on a
piecewise-linear boundary whose closest point is a kink."""

import numpy as np

from robustbench_keras.attacks.boundary_walk import walk
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
