"""Box-constrained L-BFGS minimal-distortion attack (Szegedy et al. 2014, Section 4.1; arXiv 1312.6199).

For an input x in [0, 1]^m and a target label t, the attack looks for the smallest r with
`f(x + r) = t` and `x + r` in the box. Like the paper it minimises a penalty objective

    c * ||r||_2^2 + loss(clip(x + r, 0, 1), t)

(`objective.py`; squared L2 penalty, the model evaluated at the clipped point) and searches c per
example (`c_search.py`): with c on the distortion, the smallest successful r comes from the
*largest* c that still reaches the target. Batched over examples: each c step is one
`tfp.optimizer.lbfgs_minimize` call on a (batch, m) position with a per-example c, warm-started
from the previous step's solution. The closest success seen at any objective evaluation is kept
per example, then a boundary step (bisection on the segment x -> x_adv, forward passes only)
removes the overshoot that a finite c search leaves. Every returned input lies exactly in [0, 1].
"""

import math
import numbers
import time
import weakref

import numpy as np

from robustbench_keras.attacks.c_search import CSearch
from robustbench_keras.attacks.distances import distortions
from robustbench_keras.attacks.objective import LOSSES, objective_formula
from robustbench_keras.attacks.records import AttackRecords
from robustbench_keras.attacks.solver import BatchSolver
from robustbench_keras.errors import SuiteError
from robustbench_keras.progress import Progress

INNER_SOLVERS = ("batched", "tfp")
_SOLVERS = weakref.WeakKeyDictionary()  # model -> {settings key: BatchSolver}


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


class LBFGSAttack:
    """The paper's attack with a per-example c search, batched on TensorFlow Probability's L-BFGS.

    Args:
        loss: "margin" (squared hinge on the target margin; converges to the exact minimal
            distortion) or "cross_entropy" (the paper's loss), see `objective.py`.
        kappa: margin of the squared hinge, in logits (> 0). Larger values condition the
            problem better (for an affine model the Hessian's condition number is about
            1 + |margin at x| / kappa); c scales with it.
        initial_c: first c of every example (> 0).
        c_factor: bracketing factor of the c search (> 1).
        num_c_steps: L-BFGS solves per example, bracketing and bisection together (>= 1).
        max_iterations: L-BFGS iterations per solve (>= 1).
        num_correction_pairs: L-BFGS memory (>= 1).
        tolerance: L-BFGS gradient-norm tolerance (>= 0).
        f_relative_tolerance: L-BFGS stops a row whose objective changes by less than this
            fraction in one iteration (>= 0).
        max_line_search_iterations: Hager-Zhang iterations per L-BFGS iteration (>= 1). The
            batch's line searches run in lock-step, so this bounds the evaluations per iteration.
        batch_size: examples per compiled batch (>= 1). 64 measured faster per example than 256 on
            an MLP: the L-BFGS memory of a larger batch no longer fits in cache.
        num_boundary_steps: bisection steps of the final boundary step (>= 0).
        success_margin: a point counts as adversarial when the target logit beats every other
            logit by more than this (>= 0), so that it stays adversarial when re-run.
        jit_compile: compile the kernels with XLA (true), run them as TensorFlow graphs (false), or
            "auto": XLA unless the model has convolution or pooling layers, whose gradients XLA's
            CPU backend computes 8x slower than TensorFlow's oneDNN kernels (measured on the
            zoo's mnist_convnet: 2.7 ms against 0.31 ms per example and gradient, batch 64).
    """

    def __init__(self, *, inner_solver="batched", loss="margin", kappa=0.1, initial_c=1.0, c_factor=10.0, num_c_steps=6,
                 max_iterations=50, num_correction_pairs=5, tolerance=1e-6, f_relative_tolerance=1e-6,
                 max_line_search_iterations=10, batch_size=64, num_boundary_steps=20,
                 success_margin=1e-3, jit_compile="auto"):
        self.inner_solver = _check("inner_solver", inner_solver, str, choices=INNER_SOLVERS)
        self.loss = _check("loss", loss, str, choices=LOSSES)
        self.kappa = _check("kappa", kappa, float, low=0)
        self.initial_c = _check("initial_c", initial_c, float, low=0)
        self.c_factor = _check("c_factor", c_factor, float, low=1)
        self.num_c_steps = _check("num_c_steps", num_c_steps, int, low=1, low_open=False)
        self.max_iterations = _check("max_iterations", max_iterations, int, low=1, low_open=False)
        self.num_correction_pairs = _check("num_correction_pairs", num_correction_pairs, int, low=1, low_open=False)
        self.tolerance = _check("tolerance", tolerance, float, low=0, low_open=False)
        self.f_relative_tolerance = _check("f_relative_tolerance", f_relative_tolerance, float, low=0, low_open=False)
        self.max_line_search_iterations = _check(
            "max_line_search_iterations", max_line_search_iterations, int, low=1, low_open=False)
        self.batch_size = _check("batch_size", batch_size, int, low=1, low_open=False)
        self.num_boundary_steps = _check("num_boundary_steps", num_boundary_steps, int, low=0, low_open=False)
        self.success_margin = _check("success_margin", success_margin, float, low=0, low_open=False)
        if not (isinstance(jit_compile, bool) or jit_compile == "auto"):
            raise SuiteError(f"jit_compile: expected true, false or auto, got {jit_compile!r}")
        self.jit_compile = jit_compile

    def settings(self):
        """The attack's settings and its objective written out, JSON-able."""
        return {
            "attack": "lbfgs", "objective": objective_formula(self.loss, self.kappa), "norm": "l2",
            "c_search": f"per example: x{self.c_factor:g} / /{self.c_factor:g} until bracketed, then geometric bisection; "
                        "final c = the solve that gave the kept adversarial",
            "loss": self.loss, "kappa": self.kappa, "initial_c": self.initial_c, "c_factor": self.c_factor,
            "num_c_steps": self.num_c_steps, "max_iterations": self.max_iterations,
            "num_correction_pairs": self.num_correction_pairs, "tolerance": self.tolerance,
            "f_relative_tolerance": self.f_relative_tolerance,
            "max_line_search_iterations": self.max_line_search_iterations, "batch_size": self.batch_size,
            "num_boundary_steps": self.num_boundary_steps, "success_margin": self.success_margin,
            "jit_compile": self.jit_compile, "inner_solver": self.inner_solver,
        }

    def solver(self, model, input_shape):
        """The compiled kernels for `model`, this input shape and these solver settings.

        Built once and shared by every attack with the same solver settings (c search settings
        do not enter the kernels), for as long as the model lives.
        """
        options = dict(
            inner_solver=self.inner_solver, loss=self.loss, kappa=self.kappa, success_margin=self.success_margin,
            max_iterations=self.max_iterations, num_correction_pairs=self.num_correction_pairs,
            tolerance=self.tolerance, f_relative_tolerance=self.f_relative_tolerance,
            max_line_search_iterations=self.max_line_search_iterations,
            num_boundary_steps=self.num_boundary_steps, jit_compile=self.jit_compile)
        key = (tuple(input_shape), self.batch_size, tuple(sorted(options.items())))
        solvers = _SOLVERS.setdefault(model, {})
        if key not in solvers:
            solvers[key] = BatchSolver(model, input_shape, self.batch_size, **options)
        return solvers[key]

    def run(self, model, x, targets, labels=None, progress=False):
        """Attacks every example toward its target.

        Args:
            model: Keras model taking float32 (n, *input_shape) in [0, 1], returning logits (n, classes).
            x: float32 (n, *input_shape) in [0, 1].
            targets: int (n,), the label each example is pushed toward.
            labels: int (n,), true labels, only recorded (default: -1).
            progress: show a progress line.

        Returns:
            AttackRecords, one row per example, in order (index = 0..n-1).
        """
        x = np.asarray(x, dtype=np.float32)
        n = len(x)
        targets = np.asarray(targets, dtype=np.int64).reshape(n)
        labels = np.full(n, -1, np.int64) if labels is None else np.asarray(labels, dtype=np.int64).reshape(n)
        solver = self.solver(model, x.shape[1:])
        flat = x.reshape(n, -1)
        parts = []
        bar = Progress("L-BFGS attack", n, unit="example", enabled=progress)
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            parts.append(self._run_batch(solver, flat[start:stop], targets[start:stop]))
            bar.update(stop - start, info=f"{np.mean(np.concatenate([p['success'] for p in parts])):.0%} success")
        bar.close()
        columns = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        x_adv = columns.pop("x_adv").reshape(x.shape)
        measured = distortions(x, x_adv)
        failed = ~columns["success"]
        x_adv[failed] = x[failed]
        for key in ("rms", "l2", "linf"):
            measured[key][failed] = np.nan
        return AttackRecords(
            index=np.arange(n), label=labels, target=targets, x_adv=x_adv,
            distortion_rms=measured["rms"], distortion_l2=measured["l2"], distortion_linf=measured["linf"],
            metadata={"attack": self.settings()}, **columns)

    def _run_batch(self, solver, x, targets):
        """Runs the c search on up to `batch_size` flat rows; returns per-row columns."""
        started = time.perf_counter()
        rows = len(x)
        pad = solver.batch_size - rows
        x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
        targets = np.concatenate([targets, np.repeat(targets[-1:], pad)]).astype(np.int32)
        # An example already classified as the target needs no perturbation.
        clean_margin = solver.margins(x, targets).numpy()
        already = clean_margin > self.success_margin
        solver.reset_best(x, np.where(already, 0.0, np.inf).astype(np.float32), clean_margin)
        best_c = np.where(already, 0.0, np.nan)
        search = CSearch(self.initial_c, len(x), self.c_factor)
        r = np.zeros_like(x)
        memory, previous_c = solver.empty_memory(), search.c.astype(np.float32)
        for _ in range(self.num_c_steps):
            before = (solver.best_sq_distance.numpy(), solver.promising_distance.numpy())
            c = search.c.astype(np.float32)
            r, margin, _, memory = solver.solve(x, targets, r, c, memory, previous_c)
            previous_c = c
            improved = (solver.best_sq_distance.numpy() < before[0]) | (solver.promising_distance.numpy() < before[1])
            best_c = np.where(improved, search.c, best_c)
            search.update(margin.numpy() > self.success_margin)
        found = np.isfinite(solver.best_sq_distance.numpy())
        # Both kept candidates go through the boundary step; the closer result is returned.
        candidates = []
        for kept in (solver.best_x.numpy(), solver.promising_x.numpy()):
            refined = solver.refine(x, targets, kept, found & ~already).numpy()
            # The recorded success is a fresh forward pass on the returned points.
            valid = solver.margins(refined, targets).numpy() > self.success_margin
            candidates.append(np.where((found & ~valid)[:, None], kept, refined))
        distances = [np.sum(np.square(candidate - x), axis=1) for candidate in candidates]
        x_adv = np.where((distances[1] < distances[0])[:, None], candidates[1], candidates[0])
        success = found
        num_forward = 1 + self.num_c_steps + 2 * (self.num_boundary_steps + 1)
        elapsed = (time.perf_counter() - started) / rows
        return {
            "success": success[:rows], "c": best_c[:rows], "x_adv": x_adv[:rows],
            "num_grad_evals": np.full(rows, int(solver.num_calls.numpy())),
            "num_forward_evals": np.full(rows, num_forward), "time_s": np.full(rows, elapsed),
        }
