"""The spheres task's exact pieces against independent references: sampled radii, Imhof's error rate
against Monte Carlo, the quadric oracle against SciPy's SLSQP with restarts, the cap against the bound."""

import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from robustbench_keras.attacks import quadric_oracle
from robustbench_keras.data.spheres import SpheresSpec
from robustbench_keras.data import spheres_theory
from robustbench_keras.errors import DataError
from robustbench_keras.zoo import spheres_error


def test_samples_lie_on_their_spheres_and_are_reproducible():
    spec = SpheresSpec(dimension=30, radius=1.3, seed=4)
    x, y = spec.sample(400, stream=2)
    radii = np.linalg.norm(x.astype(np.float64), axis=1)
    np.testing.assert_allclose(radii, np.where(y == 1, 1.3, 1.0), rtol=1e-6)
    assert set(np.unique(y)) == {0, 1}
    np.testing.assert_array_equal(spec.sample(400, stream=2)[0], x)
    assert not np.array_equal(spec.sample(400, stream=3)[0], x)
    # uniform direction: coordinates have mean 0 and variance 1/d on the unit sphere
    inner = x[y == 0].astype(np.float64)
    assert abs(np.mean(inner ** 2) * 30 - 1) < 0.1
    assert spec.fingerprint["radius"] == 1.3 and spec.fingerprint["dimension"] == 30


@pytest.mark.parametrize("kwargs", [{"dimension": 1}, {"radius": 1.0}, {"seed": -1}, {"dimension": 2.5}])
def test_invalid_spec_is_a_one_line_error(kwargs):
    with pytest.raises(DataError, match="spheres: "):
        SpheresSpec(**kwargs)


def _random_quadric(d, rng):
    w = rng.normal(size=(d, 2 * d)) / np.sqrt(d)
    matrix = w @ w.T
    b = float(np.median(np.linalg.eigvalsh(matrix))) * 1.15  # boundary crosses both spheres
    return matrix, b


def test_imhof_error_rate_matches_monte_carlo():
    rng = np.random.default_rng(0)
    d = 12
    matrix, b = _random_quadric(d, rng)
    inner, outer = spheres_error.exact_error_rates(matrix, b, 1.3)
    g = rng.normal(size=(400_000, d))
    z = g / np.linalg.norm(g, axis=1, keepdims=True)
    q = np.einsum("ij,jk,ik->i", z, matrix, z)
    mc_inner, mc_outer = np.mean(q > b), np.mean(1.69 * q < b)
    for exact, mc in ((inner, mc_inner), (outer, mc_outer)):
        assert 0.01 < mc < 0.99
        assert abs(exact - mc) < 4 * np.sqrt(mc * (1 - mc) / len(g))


def _slsqp_nearest(x, matrix, b, on_sphere, rng, restarts=12):
    """Independent solver: SLSQP from random starts, the best feasible point's distance."""
    constraints = [{"type": "eq", "fun": lambda y: y @ matrix @ y - b, "jac": lambda y: 2 * matrix @ y}]
    if on_sphere:
        r2 = x @ x
        constraints.append({"type": "eq", "fun": lambda y: y @ y - r2, "jac": lambda y: 2 * y})
    best = np.inf
    for _ in range(restarts):
        start = x + 0.3 * rng.normal(size=x.shape)
        res = scipy.optimize.minimize(lambda y: np.sum((y - x) ** 2), start, jac=lambda y: 2 * (y - x),
                                      constraints=constraints, method="SLSQP",
                                      options={"ftol": 1e-14, "maxiter": 500})
        feasible = all(abs(c["fun"](res.x)) < 1e-7 for c in constraints)
        if feasible:
            best = min(best, np.linalg.norm(res.x - x))
    return best


@pytest.mark.parametrize("domain", ["unbounded", "sphere"])
def test_quadric_oracle_matches_slsqp(domain):
    rng = np.random.default_rng(1)
    d = 6
    matrix, b = _random_quadric(d, rng)
    g = rng.normal(size=(6, d))
    x = g / np.linalg.norm(g, axis=1, keepdims=True) * np.where(np.arange(6) % 2, 1.3, 1.0)[:, None]
    points, distance = quadric_oracle.nearest_errors(x, matrix, b, domain)
    for i in range(len(x)):
        if not np.isfinite(distance[i]):
            continue
        p = points[i]
        assert abs(p @ matrix @ p - b) < 1e-8 * max(1, b)
        if domain == "sphere":
            assert abs(np.linalg.norm(p) - np.linalg.norm(x[i])) < 1e-10
        reference = _slsqp_nearest(x[i], matrix, b, domain == "sphere", rng)
        assert distance[i] <= reference * (1 + 1e-6)
        assert distance[i] >= reference * (1 - 1e-6)
    assert np.isfinite(distance).sum() >= 4


@pytest.mark.parametrize("mu", [1e-3, 1e-2, 0.1])
def test_cap_distance_against_gaussian_limit_and_bound(mu):
    """For large d, z_1 sqrt(d) is standard normal, so the cap's mean distance is
    E[(c - g)_+] / sqrt(d) = (c (1 - mu) + phi(c)) / sqrt(d), c = Phi^-1(1 - mu): the bound's c / sqrt(d)
    plus a term of order mu / c."""
    c = scipy.stats.norm.isf(mu)
    limit = c * (1 - mu) + scipy.stats.norm.pdf(c)
    d = 20_000
    cap = spheres_theory.cap_mean_distance(mu, d)
    assert abs(cap * np.sqrt(d) / limit - 1) < 0.01
    assert 1.0 <= cap / spheres_theory.theorem_bound(mu, d) <= 1.0 + 1.2 * mu / c ** 2 + 0.005


def test_cap_distance_closed_form_d3():
    """On the 2-sphere z_1 is uniform on [-1, 1]: mean chord to the cap {z_1 >= h} by direct quadrature."""
    mu = 0.2
    h = spheres_theory.cap_threshold(mu, 3)
    assert abs(h - (1 - 2 * mu)) < 1e-12
    theta0 = np.arccos(h)
    theta = np.linspace(theta0, np.pi, 200_001)
    # area element on S^2: sin(theta) dtheta / 2
    chord = 2 * np.sin((theta - theta0) / 2) * np.sin(theta) / 2
    expected = np.trapezoid(chord, theta)
    assert abs(spheres_theory.cap_mean_distance(mu, 3) - expected) < 1e-6
