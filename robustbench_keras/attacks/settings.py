"""The attack's settings: one frozen dataclass, made once when the suite is loaded.

Every consumer (the attack, its compiled kernels, the SciPy reference, the leaderboard document,
`leaderboard verify`) takes this object; `to_json()` writes out the effective settings, defaults
included, which is also what the suite hash covers.
"""

import dataclasses
import math
import numbers

from robustbench_keras.attacks.objective import LOSSES, objective_formula
from robustbench_keras.errors import SuiteError

INNER_SOLVERS = ("batched", "tfp")
DOMAINS = ("box", "unbounded", "sphere")
_TFP_ONLY = ("tfp_max_iterations", "tfp_max_line_search_iterations")


def _check(name, value, kind, low=None, low_open=True, choices=None):
    """Validates one setting; raises SuiteError naming it (the suite loader prefixes "attack.")."""
    if choices is not None:
        if value not in choices:
            raise SuiteError(f"{name}: expected one of {', '.join(map(str, choices))}, got {value!r}")
        return value
    integral = kind is int
    ok = isinstance(value, numbers.Integral if integral else numbers.Real) and not isinstance(value, bool)
    ok = ok and (integral or math.isfinite(value))
    ok = ok and (low is None or (value > low if low_open else value >= low))
    if not ok:
        what = "an integer" if integral else "a finite number"
        bound = "" if low is None else f" {'>' if low_open else '>='} {low}"
        raise SuiteError(f"{name}: expected {what}{bound}, got {value!r}")
    return int(value) if integral else float(value)


@dataclasses.dataclass(frozen=True)
class AttackSettings:
    """Settings of the box-constrained L-BFGS attack (suite section `attack:`).

    The default budget, 380 gradient evaluations per example (c search 2 x 25, DDN start 50, stroke and
    competitor starts 2 x (50 + 40), walk 100, no projection steps), is the cheapest measured that keeps the
    accuracy of the 633-evaluation budget before it on the peers' problems (README, "The budget").

    Attributes:
        inner_solver: "batched" (compiled L-BFGS with per-example line searches) or "tfp"
            (`tfp.optimizer.lbfgs_minimize`, whose line searches run in lock-step over the batch).
        loss: "margin" (squared hinge on the target margin; converges to the exact minimal
            distortion) or "cross_entropy" (the paper's loss), see `objective.py`.
        kappa: margin of the squared hinge, in logits (> 0); larger values condition the problem
            better, and c scales with it.
        initial_c: first c of every example (> 0).
        c_factor: bracketing factor of the c search (> 1).
        num_c_steps: inner solves per example, bracketing and bisection together (>= 1).
        max_evaluations: objective evaluations per inner solve of the "batched" solver, and SciPy
            L-BFGS-B's `maxfun` in the per-example reference (>= 1).
        restart_after_rejections: an example whose line search rejects this many trials in a row drops
            its curvature memory and restarts from steepest descent (0: never; the rescue never does).
        rescue_evaluations: objective evaluations per solve of the second c search (twice the c steps,
            a fresh curvature memory at every c) run for the examples the first left without an
            adversarial, then again with the cross-entropy loss for the examples still left (0: none).
        tfp_max_iterations: L-BFGS iterations per solve of the "tfp" solver (>= 1).
        tfp_max_line_search_iterations: Hager-Zhang iterations per iteration of the "tfp" solver (>= 1).
        num_correction_pairs: L-BFGS memory (>= 1).
        tolerance: gradient-norm tolerance of a solve (>= 0).
        f_relative_tolerance: a row whose objective changes by less than this fraction in one
            iteration stops (>= 0).
        batch_size: the most examples per compiled batch; a run's rows go evenly in the fewest such batches (>= 1).
        num_boundary_steps: bisection steps of the final boundary step (>= 0).
        num_projection_steps: boundary-projection steps after the boundary step, one gradient
            evaluation each (`BatchSolver.polished`; 0: none).
        projection_step: fraction of the way each projection step moves toward the closest point
            of the linearised boundary (> 0, <= 1).
        projection_competitors: other classes whose margins each projection step linearises, the
            strongest first (>= 1); each costs one gradient evaluation per step.
        num_ddn_steps: steps of the second start after the projection steps, one gradient evaluation each
            (`boundary_walk.ddn`: DDN from the clean input, kept where closer, then walked; 0: none).
        num_restart_steps: DDN steps of each of the two more starts after the DDN second start, one
            gradient evaluation each (`restarts.py`: stroke-weighted, and driven by one competitor class;
            each then walked, kept where closer; 0: none).
        num_restart_walk_steps: boundary-walk steps after each of those starts (>= 0).
        num_walk_steps: boundary-walk steps after the projection steps, one gradient evaluation each
            (`boundary_walk.py`: a DDN-like walk from the kept adversarial; 0: none).
        walk_step: the walk's first step, as a fraction of the distance it starts from (> 0).
        walk_gamma: the walk's relative change of the norm per step (> 0, < 1).
        success_margin: a point counts as adversarial when the target logit beats every other
            logit by more than this (>= 0), so that it stays adversarial when re-run.
        num_shortlisted_targets: untargeted (`target_policy: closest`), the wrong labels per example that get the
            whole attack: those whose c search alone came closest (`run_attack`); 0: every wrong label (>= 0).
        jit_compile: compile the kernels with XLA (true), run them as TensorFlow graphs (false), or
            "auto": XLA unless the model has convolution or pooling layers, whose gradients XLA's
            CPU backend computes 8x slower than TensorFlow's oneDNN kernels.
        domain: where adversarials may lie: "box" (the [0, 1] pixel box), "unbounded" (R^d) or "sphere"
            (the sphere the input lies on, Gilmer et al.'s manifold attack); see `attacks/domains.py`.
    """

    inner_solver: str = "batched"
    loss: str = "margin"
    kappa: float = 0.1
    initial_c: float = 1.0
    c_factor: float = 10.0
    num_c_steps: int = 2
    max_evaluations: int = 25
    restart_after_rejections: int = 8
    rescue_evaluations: int = 200
    tfp_max_iterations: int = 50
    tfp_max_line_search_iterations: int = 10
    num_correction_pairs: int = 5
    tolerance: float = 1e-6
    f_relative_tolerance: float = 1e-6
    batch_size: int = 64
    num_boundary_steps: int = 20
    num_projection_steps: int = 0
    projection_step: float = 0.5
    projection_competitors: int = 3
    num_ddn_steps: int = 50
    num_restart_steps: int = 50
    num_restart_walk_steps: int = 40
    num_walk_steps: int = 100
    walk_step: float = 0.3
    walk_gamma: float = 0.02
    success_margin: float = 1e-3
    num_shortlisted_targets: int = 3
    jit_compile: bool | str = "auto"
    domain: str = "box"

    def __post_init__(self):
        checks = {
            "inner_solver": dict(kind=str, choices=INNER_SOLVERS), "loss": dict(kind=str, choices=LOSSES),
            "kappa": dict(kind=float, low=0), "initial_c": dict(kind=float, low=0),
            "c_factor": dict(kind=float, low=1), "num_c_steps": dict(kind=int, low=1, low_open=False),
            "max_evaluations": dict(kind=int, low=1, low_open=False),
            "rescue_evaluations": dict(kind=int, low=0, low_open=False),
            "restart_after_rejections": dict(kind=int, low=0, low_open=False),
            "tfp_max_iterations": dict(kind=int, low=1, low_open=False),
            "tfp_max_line_search_iterations": dict(kind=int, low=1, low_open=False),
            "num_correction_pairs": dict(kind=int, low=1, low_open=False),
            "tolerance": dict(kind=float, low=0, low_open=False),
            "f_relative_tolerance": dict(kind=float, low=0, low_open=False),
            "batch_size": dict(kind=int, low=1, low_open=False),
            "num_boundary_steps": dict(kind=int, low=0, low_open=False),
            "num_projection_steps": dict(kind=int, low=0, low_open=False),
            "projection_step": dict(kind=float, low=0),
            "projection_competitors": dict(kind=int, low=1, low_open=False),
            "num_ddn_steps": dict(kind=int, low=0, low_open=False),
            "num_restart_steps": dict(kind=int, low=0, low_open=False),
            "num_restart_walk_steps": dict(kind=int, low=0, low_open=False),
            "num_walk_steps": dict(kind=int, low=0, low_open=False),
            "walk_step": dict(kind=float, low=0), "walk_gamma": dict(kind=float, low=0),
            "success_margin": dict(kind=float, low=0, low_open=False),
            "num_shortlisted_targets": dict(kind=int, low=0, low_open=False),
            "domain": dict(kind=str, choices=DOMAINS),
        }
        for name, check in checks.items():
            object.__setattr__(self, name, _check(name, getattr(self, name), **check))
        if not (isinstance(self.jit_compile, bool) or self.jit_compile == "auto"):
            raise SuiteError(f"jit_compile: expected true, false or auto, got {self.jit_compile!r}")
        if self.projection_step > 1:
            raise SuiteError(f"projection_step: expected a finite number <= 1, got {self.projection_step!r}")
        if self.walk_gamma >= 1:
            raise SuiteError(f"walk_gamma: expected a finite number < 1, got {self.walk_gamma!r}")

    def kernel_options(self):
        """The settings that enter the compiled kernels (the c search's and the rescue's do not), as a
        hashable tuple."""
        skipped = ("initial_c", "c_factor", "num_c_steps", "rescue_evaluations", "num_shortlisted_targets", "domain")
        return tuple((f.name, getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in skipped)

    def to_json(self):
        """The effective settings and the objective written out, JSON-able."""
        return {
            "attack": "lbfgs", "objective": objective_formula(self.loss, self.kappa), "norm": "l2",
            "c_search": f"per example: x{self.c_factor:g} / /{self.c_factor:g} until bracketed, then geometric "
                        "bisection; final c = the solve that gave the kept adversarial",
            **dataclasses.asdict(self),
        }


def check_tfp_only_keys(section):
    """Refuses a "tfp"-only key in a suite section whose solver is "batched"; SuiteError names it."""
    if section.get("inner_solver", "batched") != "tfp":
        for name in _TFP_ONLY:
            if name in section:
                raise SuiteError(f"{name}: applies to inner_solver: tfp only (this section uses batched)")
