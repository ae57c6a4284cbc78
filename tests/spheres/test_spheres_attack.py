"""The L-BFGS attack on the unbounded and sphere domains against the quadric oracle's exact nearest errors,
and the sampled error rate against the exact one, on a small trained quadratic network (d = 20)."""

import numpy as np
import pytest

from robustbench_keras.attacks import LBFGSAttack, domains, quadric_oracle
from robustbench_keras.attacks.settings import AttackSettings
from robustbench_keras.data.spheres import SpheresSpec
from robustbench_keras.errors import SuiteError
from robustbench_keras.zoo import spheres_error, spheres_nets

SPEC = SpheresSpec(dimension=20, radius=1.3, seed=0)


@pytest.fixture(scope="module")
def quadratic():
    model = spheres_nets.build("quadratic", SPEC.dimension, hidden=40, seed=0)
    return spheres_nets.train(model, SPEC, 600, learning_rate=1e-2, show_progress=False)


@pytest.mark.parametrize("domain", ["unbounded", "sphere"])
def test_attack_reaches_exact_nearest_error(quadratic, domain):
    matrix, b = spheres_nets.quadratic_form(quadratic)
    if domain == "sphere":  # one sphere, one compiled solver; the unbounded case mixes both spheres
        x, y = SPEC.sample(4, stream=98, label=1)
    else:
        x, y = SPEC.sample(4, stream=99)
    attack = LBFGSAttack(AttackSettings(jit_compile=False, domain=domain))
    records = domains.attack_in_domain(attack, quadratic, x, y, target_policy="closest", progress=False)
    _, exact = quadric_oracle.nearest_errors(x, matrix, b, domain)
    assert records.success.all() and np.isfinite(exact).all()
    ratio = records.distortion_l2 / exact
    assert ratio.min() >= 1 - 1e-3  # the attack cannot beat the exact optimum
    assert ratio.mean() <= 1.01
    assert records.metadata["domain"] == domain and records.metadata["cube_faces_touched"] == 0
    if domain == "sphere":
        radii = np.linalg.norm(records.x_adv.astype(np.float64), axis=1)
        np.testing.assert_allclose(radii, np.linalg.norm(x, axis=1), rtol=1e-5)


def test_sampled_error_rate_brackets_exact(quadratic):
    undertrained = spheres_nets.build("quadratic", SPEC.dimension, hidden=40, seed=1)
    spheres_nets.train(undertrained, SPEC, 40, learning_rate=1e-2, show_progress=False)
    matrix, b = spheres_nets.quadratic_form(undertrained)
    exact = spheres_error.exact_error_rates(matrix, b, SPEC.radius)
    estimate = spheres_error.estimated_error_rates(undertrained, SPEC, count=100_000, show_progress=False)
    assert max(exact) > 1e-3  # the check is not vacuous
    for value, name in zip(exact, ("inner", "outer")):
        assert estimate[name]["ci_low"] <= value <= estimate[name]["ci_high"]


def test_unknown_domain_is_a_one_line_error():
    with pytest.raises(SuiteError, match="domain: expected one of box, unbounded, sphere, got 'torus'"):
        AttackSettings(domain="torus")
