"""The exact QP oracle: feasibility, duality gap and KKT, and agreement with SciPy's SLSQP."""

import numpy as np
import pytest
import scipy.optimize

from robustbench_keras.attacks.qp_oracle import affine_parameters, exact_minimal_distortion
from robustbench_keras.errors import ModelError


@pytest.fixture(scope="module")
def fc10_qp(fc10, test_sample):
    x, _, targets = test_sample
    w, b = affine_parameters(fc10, (28, 28))
    return w, b, exact_minimal_distortion(w, b, x, targets)


def test_affine_parameters_reproduce_the_model(fc10, test_sample, fc10_qp):
    x = test_sample[0]
    w, b, _ = fc10_qp
    np.testing.assert_allclose(x.reshape(len(x), -1) @ w + b, fc10.predict(x, verbose=0), atol=1e-4)


def test_non_affine_model_is_refused(mlp):
    with pytest.raises(ModelError, match="expected a model whose logits are affine"):
        affine_parameters(mlp, (28, 28))


def test_solution_is_feasible_and_certified(test_sample, fc10_qp):
    x, _, targets = test_sample
    w, b, solution = fc10_qp
    assert np.all(solution.x_opt >= 0) and np.all(solution.x_opt <= 1)
    assert np.all(solution.violation <= 1e-6)
    assert np.all(np.abs(solution.gap) <= 1e-6 * (1 + solution.distance ** 2))
    np.testing.assert_allclose(solution.lower_bound, solution.distance, rtol=1e-4)
    # KKT: y = clip(x - A^T lam, 0, 1), lam >= 0, and lam_j > 0 only on active constraints.
    for i in range(len(x)):
        others = [j for j in range(10) if j != targets[i]]
        a = (w[:, others] - w[:, [targets[i]]]).T
        slack = a @ solution.x_opt[i] + b[others] - b[targets[i]]
        lam = solution.multipliers[i]
        assert np.all(lam >= 0)
        assert np.all(lam * np.abs(slack) <= 1e-5 * (1 + lam.max()))


def test_solution_matches_slsqp(test_sample, fc10_qp):
    x, _, targets = test_sample
    w, b, solution = fc10_qp
    for i in range(2):
        x0 = x[i].reshape(-1).astype(np.float64)
        others = [j for j in range(10) if j != targets[i]]
        a = (w[:, others] - w[:, [targets[i]]]).T
        d = b[others] - b[targets[i]]
        result = scipy.optimize.minimize(
            lambda y: 0.5 * np.sum((y - x0) ** 2), x0, jac=lambda y: y - x0, method="SLSQP",
            bounds=[(0, 1)] * x0.size,
            constraints=[{"type": "ineq", "fun": lambda y: -(a @ y + d), "jac": lambda y: -a}],
            options={"maxiter": 500, "ftol": 1e-12})
        assert result.success, result.message
        np.testing.assert_allclose(solution.distance[i], np.linalg.norm(result.x - x0), rtol=1e-4)


def test_already_in_target_region_gives_zero():
    w = np.eye(3)[:, :3]
    x = np.array([[0.9, 0.1, 0.1]])
    solution = exact_minimal_distortion(w, np.zeros(3), x, np.array([0]))
    assert solution.distance[0] == 0.0


def test_unreachable_target_gives_infinity():
    # Class 1's logit is always 1 below class 0's inside the box.
    w = np.zeros((2, 2))
    solution = exact_minimal_distortion(w, np.array([1.0, 0.0]), np.array([[0.5, 0.5]]), np.array([1]))
    assert np.isinf(solution.distance[0])
