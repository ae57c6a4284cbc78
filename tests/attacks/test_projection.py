"""The projection steps after the boundary step: the polyhedron projection against its KKT conditions, the
stage against the exact QP optimum of a linear model whose target regions have corners."""

import numpy as np
from scipy.optimize import nnls

from robustbench_keras.attacks import LBFGSAttack
from robustbench_keras.attacks.qp_oracle import affine_parameters, exact_minimal_distortion
from robustbench_keras.attacks.settings import AttackSettings
from robustbench_keras.attacks.projection import polyhedron_projection

# A c search cut short (two c steps of three evaluations): candidates well above the optimum.
SHORT = dict(batch_size=16, jit_compile=False, num_c_steps=2, max_evaluations=3, rescue_evaluations=0, num_ddn_steps=0,
             num_walk_steps=0, num_restart_steps=0)


def test_polyhedron_projection_satisfies_the_kkt_conditions():
    # min ||q - x||^2 over the box with n_j.q >= offset_j is convex, so KKT certifies the optimum. The
    # multipliers are recovered independently by non-negative least squares on the coordinates strictly
    # inside the box (q - x = sum_j lam_j n_j there); then feasibility, complementary slackness and, at a
    # bound, the step x + sum_j lam_j n_j pointing past it.
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 40))
    x[:, :15] = np.round(x[:, :15])  # pixels at the bounds, as in MNIST
    normals = rng.normal(size=(4, 3, 40))
    normals[:, 1] = normals[:, 0] + 0.5 * normals[:, 1]  # correlated planes meet at a corner
    offsets = np.einsum("bkm,bm->bk", normals, x) + np.array([[1.5, 1.2, -3.0], [0.8, 0.8, 0.8],
                                                               [2.0, -1.0, 1.0], [0.3, 2.5, 0.1]])
    q = polyhedron_projection(*(tf.constant(a, tf.float32) for a in (x, normals, offsets)), sweeps=30).numpy()
    q = q.astype(np.float64)
    for row in range(4):
        inside = (q[row] > 1e-6) & (q[row] < 1 - 1e-6)
        lam, residual = nnls(normals[row][:, inside].T, (q[row] - x[row])[inside])
        assert residual < 1e-3
        slack = normals[row] @ q[row] - offsets[row]
        assert np.all(slack >= -1e-3) and np.all(np.abs(slack[lam > 1e-3]) < 1e-3), (slack, lam)
        step = x[row] + lam @ normals[row]
        assert np.all(step[~inside & (q[row] >= 0.5)] >= 1 - 1e-3) and np.all(step[~inside & (q[row] < 0.5)] <= 1e-3)


def test_projection_steps_bring_a_short_search_to_the_exact_optimum(check_attack_contract, fc10, test_sample):
    # Where the QP has one active class constraint, linearising the runner-up alone reaches the optimum;
    # at a corner (several classes tie at the optimum: examples 1, 7, 8, 11 here) it takes the competitors'.
    x, y, targets = (a[:16] for a in test_sample)
    w, b = affine_parameters(fc10, (28, 28))
    exact = exact_minimal_distortion(w, b, x, targets).distance
    ratio = {}
    for competitors in (0, 1, 3):
        settings = AttackSettings(**SHORT, num_projection_steps=30 if competitors else 0,
                                  projection_competitors=max(competitors, 1))
        records = LBFGSAttack(settings).run(fc10, x, targets, y)
        check_attack_contract(fc10, x, targets, records, success_margin=1e-3)
        assert records.success.all()
        ratio[competitors] = records.distortion_l2 / exact
    assert np.all(ratio[3] >= 1.0 - 1e-4)
    assert np.mean(ratio[0]) > 1.01  # the short search alone is well off
    assert np.median(ratio[1]) <= 1.001 and np.max(ratio[1]) > 1.05
    assert np.mean(ratio[3]) <= 1.004 and np.max(ratio[3]) <= 1.04, np.sort(ratio[3])[-4:]
