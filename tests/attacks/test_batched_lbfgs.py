"""The batched L-BFGS with independent line searches, against closed-form minimisers."""

import numpy as np

from robustbench_keras.attacks import batched_lbfgs
from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()


def _quadratics(batch, m, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(batch, m, m))
    a = q @ np.transpose(q, (0, 2, 1)) / m + np.eye(m) * np.linspace(0.05, 2.0, batch)[:, None, None]
    b = rng.normal(size=(batch, m))
    return a.astype(np.float32), b.astype(np.float32)


def test_minimises_rows_of_different_difficulty_to_their_exact_minimisers():
    a, b = _quadratics(6, 20)
    a_t, b_t = tf.constant(a), tf.constant(b)

    def value_and_gradients(x):
        ax = tf.einsum("bij,bj->bi", a_t, x)
        return 0.5 * tf.reduce_sum(x * ax, axis=-1) - tf.reduce_sum(b_t * x, axis=-1), ax - b_t

    result = tf.function(lambda x0: batched_lbfgs.minimize(
        value_and_gradients, x0, batched_lbfgs.empty_memory(6, 20, 5),
        max_evaluations=300, tolerance=1e-5, f_relative_tolerance=0.0))(tf.zeros((6, 20)))
    exact = np.linalg.solve(a.astype(np.float64), b[..., None])[..., 0]
    optimum = -0.5 * np.sum(b * exact, axis=1)
    # float32 resolves the objective to ~1e-7 relative, so the flat directions only to ~1e-2.
    np.testing.assert_allclose(result.value, optimum, rtol=1e-5)
    np.testing.assert_allclose(result.position, exact, atol=2e-2)
    assert int(result.num_evaluations) < 300  # every row stopped on its own tolerance


def test_rosenbrock_rows_converge():
    def value_and_gradients(x):
        u, v = x[:, 0], x[:, 1]
        value = (1 - u) ** 2 + 100 * (v - u ** 2) ** 2
        gradient = tf.stack([-2 * (1 - u) - 400 * u * (v - u ** 2), 200 * (v - u ** 2)], axis=1)
        return value, gradient

    starts = tf.constant([[-1.2, 1.0], [0.0, 0.0], [2.0, 2.0]])
    result = batched_lbfgs.minimize(value_and_gradients, starts, batched_lbfgs.empty_memory(3, 2, 5),
                                    max_evaluations=500, tolerance=1e-6, f_relative_tolerance=0.0)
    np.testing.assert_allclose(result.position, np.ones((3, 2)), atol=1e-3)


def test_shifted_memory_matches_the_new_curvature():
    # For f = c ||x||^2 + loss, stored y's move by exactly 2 (c_new - c_old) s.
    s = tf.constant(np.random.default_rng(1).normal(size=(2, 3, 4)).astype(np.float32))  # (batch, pairs, m)
    y = 2.0 * 1.0 * s  # curvature of ||x||^2 with c = 1
    memory = batched_lbfgs.Memory(s, y, 1.0 / tf.reduce_sum(s * y, axis=-1))
    shifted = batched_lbfgs.shift_memory(memory, tf.constant([2.0, -0.5]))
    np.testing.assert_allclose(shifted.y[0], 2.0 * 3.0 * s[0], rtol=1e-6)
    np.testing.assert_allclose(shifted.y[1], 2.0 * 0.5 * s[1], rtol=1e-6)
    gone = batched_lbfgs.shift_memory(memory, tf.constant([-1.0, -1.0]))  # c = 0: no curvature left
    np.testing.assert_array_equal(gone.rho, 0.0)


def _quadratic_problem(a, b):
    a_t, b_t = tf.constant(a), tf.constant(b)

    def value_and_gradients(x):
        ax = tf.einsum("bij,bj->bi", a_t, x)
        return 0.5 * tf.reduce_sum(x * ax, axis=-1) - tf.reduce_sum(b_t * x, axis=-1), ax - b_t

    return value_and_gradients


def test_box_constrained_rows_reach_scipy_l_bfgs_b_minimisers():
    import scipy.optimize

    a, b = _quadratics(4, 12, seed=2)
    b = 3.0 * b  # pushes most unconstrained minimisers out of the box
    lower, upper = np.full((4, 12), -0.5, np.float32), np.full((4, 12), 0.5, np.float32)
    result = tf.function(lambda x0: batched_lbfgs.minimize(
        _quadratic_problem(a, b), x0, batched_lbfgs.empty_memory(4, 12, 5), max_evaluations=400, tolerance=1e-6,
        f_relative_tolerance=0.0, lower=tf.constant(lower), upper=tf.constant(upper)))(tf.zeros((4, 12)))
    position = result.position.numpy()
    assert np.all(position >= lower) and np.all(position <= upper)
    for row in range(4):
        reference = scipy.optimize.minimize(
            lambda v: (0.5 * v @ a[row] @ v - b[row] @ v, a[row] @ v - b[row]), np.zeros(12), jac=True,
            method="L-BFGS-B", bounds=[(-0.5, 0.5)] * 12, options={"ftol": 1e-15, "gtol": 1e-10})
        assert np.sum(np.isclose(np.abs(reference.x), 0.5)) >= 3  # the box is active
        np.testing.assert_allclose(position[row], reference.x, atol=2e-3)


def test_each_row_of_a_batch_follows_its_own_iterations():
    # Per-row memories and line searches: a row's result does not depend on what shares its batch.
    a, b = _quadratics(5, 16, seed=3)
    solve = tf.function(lambda f, x0, rows: batched_lbfgs.minimize(
        f, x0, batched_lbfgs.empty_memory(rows, 16, 5), max_evaluations=25, tolerance=0.0, f_relative_tolerance=0.0))
    together = solve(_quadratic_problem(a, b), tf.zeros((5, 16)), 5).position.numpy()
    for row in range(5):
        alone = solve(_quadratic_problem(a[row:row + 1], b[row:row + 1]), tf.zeros((1, 16)), 1).position.numpy()
        np.testing.assert_allclose(together[row], alone[0], rtol=1e-4, atol=1e-5)
