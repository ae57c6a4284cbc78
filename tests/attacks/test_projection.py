"""The projection steps after the boundary step: the box projection against its KKT conditions, the stage
against the exact QP optimum of a linear model."""

import numpy as np

from robustbench_keras.attacks import LBFGSAttack
from robustbench_keras.attacks.qp_oracle import affine_parameters, exact_minimal_distortion
from robustbench_keras.attacks.settings import AttackSettings
from robustbench_keras.attacks.solver import _box_projection

# A c search cut short (two c steps of three evaluations): candidates well above the optimum.
SHORT = dict(batch_size=16, jit_compile=False, num_c_steps=2, max_evaluations=3, rescue_evaluations=0)


def test_box_projection_satisfies_the_kkt_conditions_of_the_plane_projection():
    # min ||q - x||^2 over the box with n.q = offset is convex, so KKT certifies the optimum: on the plane,
    # q - x = lam * n on the coordinates strictly inside the box, and at a bound n points past it (sign lam).
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 30))
    x[:, :10] = np.round(x[:, :10])  # pixels at the bounds, as in MNIST
    normal = rng.normal(size=(4, 30))
    offset = (normal * x).sum(axis=1) + np.array([1.5, -0.7, 3.0, 0.2])
    q = _box_projection(*(tf.constant(a, tf.float32) for a in (x, normal, offset))).numpy().astype(np.float64)
    np.testing.assert_allclose((normal * q).sum(axis=1), offset, atol=1e-4)
    for row in range(4):
        inside = (q[row] > 1e-6) & (q[row] < 1 - 1e-6)
        lam = np.sum((q[row] - x[row])[inside] * normal[row][inside]) / np.sum(np.square(normal[row][inside]))
        np.testing.assert_allclose((q[row] - x[row])[inside], lam * normal[row][inside], atol=1e-5)
        pushed = lam * normal[row]  # where the unconstrained step would go past a bound, q sits on it
        assert np.all(q[row][~inside & (pushed > 0)] >= 1 - 1e-6) and np.all(q[row][~inside & (pushed < 0)] <= 1e-6)
        assert np.all(np.abs(q[row] - x[row])[~inside & (np.abs(pushed) < 1e-9)] < 1e-6)


def test_projection_steps_bring_a_short_search_to_the_exact_optimum(check_attack_contract, fc10, test_sample):
    x, y, targets = (a[:16] for a in test_sample)
    w, b = affine_parameters(fc10, (28, 28))
    exact = exact_minimal_distortion(w, b, x, targets).distance
    without = LBFGSAttack(AttackSettings(**SHORT, num_projection_steps=0)).run(fc10, x, targets, y)
    records = LBFGSAttack(AttackSettings(**SHORT, num_projection_steps=30)).run(fc10, x, targets, y)
    check_attack_contract(fc10, x, targets, records, success_margin=1e-3)
    assert records.success.all() and without.success.all()
    before, after = without.distortion_l2 / exact, records.distortion_l2 / exact
    assert np.mean(before) > 1.01  # the short search alone is well off
    assert np.all(after >= 1.0 - 1e-4) and np.all(after <= before + 1e-6)
    assert np.median(after) <= 1.001 and np.mean(after) < np.mean(before) - 0.005, np.sort(after)[-4:]
