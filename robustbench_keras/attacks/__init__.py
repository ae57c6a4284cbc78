"""The box-constrained L-BFGS minimal-distortion attack (Szegedy et al. 2014, Section 4.1; arXiv 1312.6199).

`LBFGSAttack` holds the settings and attacks a batch toward given targets; `run_attack` picks the
targets by policy (`TARGET_POLICIES`) and returns per-example `AttackRecords`, from which
`summarize_distortions` derives the aggregates. `qp_oracle` gives the exact optimum for affine
models and `scipy_reference` the per-example SciPy baseline.
"""

from robustbench_keras.attacks.lbfgs import LBFGSAttack
from robustbench_keras.attacks.records import AttackRecords, summarize_distortions
from robustbench_keras.attacks.run import run_attack
from robustbench_keras.attacks.targets import TARGET_POLICIES, choose_targets

__all__ = ["AttackRecords", "LBFGSAttack", "TARGET_POLICIES", "choose_targets", "run_attack", "summarize_distortions"]
