"""The per-example SciPy L-BFGS-B reference agrees with the batched attack."""

import numpy as np

from robustbench_keras.attacks.settings import AttackSettings
from robustbench_keras.attacks.scipy_reference import run_reference


def test_reference_and_batched_attack_agree_on_fc10(check_attack_contract, fc10, test_sample, fc10_records):
    x, y, targets = (a[:4] for a in test_sample)
    reference = run_reference(AttackSettings(), fc10, x, targets, y)
    check_attack_contract(fc10, x, targets, reference, success_margin=1e-3)
    assert reference.success.all()
    # Both reach the exact optimum of the linear model, so they agree closely.
    np.testing.assert_allclose(fc10_records.distortion_l2[:4], reference.distortion_l2, rtol=0.02)
    assert reference.metadata["attack"]["inner_solver"].startswith("scipy.optimize.minimize")
