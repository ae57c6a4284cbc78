"""The minimal L∞ distortion reaching a target label, bracketed by certified bounds and exact when they meet.

For an example x with its label and a target: ε* = min ‖x' − x‖∞ over x' in [0, 1] with
logit[target](x') ≥ logit[label](x'). Three steps, each narrowing the bracket [lower, upper]:
- lower: the largest ε (bisection) at which CROWN bounds (`linear_bounds.py`) on the margin
  logit[label] − logit[target] prove it positive over the clipped ball, so no point within ε reaches the target;
- upper: the attack's own L∞, then the smallest ε of a grid at which targeted PGD (`attacks/pgd.py`, on the
  margin) finds a point reaching the target;
- exact: the MIPVerify program (`milp.Program`, big-M constants from the ball of radius `upper`) with ε as a
  variable in [lower, upper], minimised by HiGHS without its primal heuristics (PGD has found the point they
  would look for; they held the dual bound back). Its dual bound raises `lower`, even for a solve cut by the
  time limit. Its point is repaired by the linear program of its activation pattern (the margin a little
  below zero) and lowers `upper` only once a Keras forward pass confirms it reaches the target.
The bracket is exact when upper ≤ lower · (1 + relative_gap). Every bound holds up to HiGHS's tolerances.
"""

import dataclasses
import time

import numpy as np
import scipy.sparse

from robustbench_keras.attacks.pgd import perturb
from robustbench_keras.quiet import import_tensorflow
from robustbench_keras.verification.bounds import input_box
from robustbench_keras.verification.linear_bounds import linear_bounds
from robustbench_keras.verification.milp import Program, margin_objective

tf = import_tensorflow()

NUM_BISECTIONS = 24  # CROWN bisection steps on ε: the lower bound to 2⁻²⁴ of the upper
PGD_GRID = 16  # radii per PGD round, two rounds: the upper bound to 1/256 of the bracket
PGD_STEPS = 100
_REPAIR_MARGIN = 1e-5  # the repaired point's margin is at most −this, so float32 rounding keeps it adversarial


@dataclasses.dataclass(frozen=True)
class LinfBracket:
    """Certified bounds on the minimal L∞ distortion of one example towards one target.

    Attributes:
        lower: no point within this L∞ distance reaches the target (proven).
        upper: the L∞ distance of a point that reaches it (checked by a Keras forward pass, or the attack's).
        exact: upper ≤ lower · (1 + relative_gap): `upper` is the minimal distortion.
        time_s: seconds spent.
        x_upper: float32 the point of `upper` like the example, or None when it is the attack's own.
    """

    lower: float
    upper: float
    exact: bool
    time_s: float
    x_upper: object = None


def _margin_steps(steps, label, target):
    """`steps` with the logits layer replaced by its single output logit[label] − logit[target]."""
    last = steps[-1]
    return steps[:-1] + [dataclasses.replace(last, weight=(last.weight[:, label] - last.weight[:, target])[:, None],
                                             bias=np.array([last.bias[label] - last.bias[target]]))]


def crown_lower_bound(steps, x, label, target, upper, num_bisections=NUM_BISECTIONS):
    """The largest ε found by bisection on [0, upper] at which CROWN proves the margin positive over the ball."""
    margin_steps, x = _margin_steps(steps, label, target), np.asarray(x, np.float64)[None]

    def proven(epsilon):
        return linear_bounds(margin_steps, x, epsilon)[-1][0][0, 0] > 0

    if not proven(0.0):
        return 0.0
    if proven(upper):
        return upper
    low, high = 0.0, upper
    for _ in range(num_bisections):
        middle = (low + high) / 2
        low, high = (middle, high) if proven(middle) else (low, middle)
    return low


class LinfSearch:
    """Brackets the minimal L∞ distortion of examples towards targets on one model (`bracket`).

    Args:
        model: keras.Model, logits out; steps: its `bounds.network_steps`.
        time_limit_s: the MILP's time limit per example.
        relative_gap: the bracket counts as exact within this relative width (HiGHS's `mip_rel_gap` too).
        seed: seeds PGD's random starts.
    """

    def __init__(self, model, steps, time_limit_s, relative_gap, seed=0):
        self.model, self.steps, self.time_limit_s, self.relative_gap = model, steps, time_limit_s, relative_gap
        self.rng = np.random.default_rng(seed)
        self._pgd = tf.function(self._targeted_pgd)

    def _targeted_pgd(self, x, epsilon, start, direction):
        """PGD descending the margin `logits · direction`: on logits (margin, 0) class 0's cross-entropy
        rises as the margin falls."""
        def margin_logits(x_adv, training=False):
            margin = tf.linalg.matvec(self.model(x_adv, training=training), direction)
            return tf.stack([margin, tf.zeros_like(margin)], axis=1)

        return perturb(margin_logits, x, tf.zeros(tf.shape(x)[0], tf.int64), epsilon, PGD_STEPS, epsilon / 8, start)

    def _margins(self, points, label, target):
        logits = np.asarray(self.model(points, training=False), np.float64)
        return logits[:, label] - logits[:, target]

    def _reached(self, x, point, label, target):
        """The L∞ distance from x of the float32 `point` if its margin is ≤ 0 (it reaches the target), else inf."""
        if self._margins(point[None], label, target)[0] > 0:
            return np.inf
        return float(np.abs(point.astype(np.float64) - x.astype(np.float64)).max())

    def _pgd_upper(self, x, label, target, lower, upper):
        """Targeted PGD on a grid of radii in (lower, upper], then on a finer grid below the smallest that worked:
        the smallest distance reached and its point (`upper` and None if none beats it)."""
        direction = np.zeros(self.steps[-1].bias.size, np.float32)
        direction[label], direction[target] = 1.0, -1.0
        best, best_point, low = upper, None, lower
        for _ in range(2):
            radii = np.linspace(low, best, PGD_GRID + 1)[1:].astype(np.float32)
            start = self.rng.uniform(-1, 1, (PGD_GRID,) + x.shape).astype(np.float32)
            points = self._pgd(np.repeat(x[None], PGD_GRID, axis=0), radii.reshape((PGD_GRID,) + (1,) * x.ndim),
                               start, direction).numpy()
            hits = np.flatnonzero(self._margins(points, label, target) <= 0)
            if not hits.size:
                break
            first = hits[0]
            low = float(radii[first - 1]) if first else low
            distance = self._reached(x, points[first], label, target)
            if distance < best:
                best, best_point = distance, points[first]
        return best, best_point

    def _program(self, x, label, target, lower, upper):
        """The program over the ball of radius `upper`, its variable ε ∈ [lower, upper], and the extra rows
        |x' − x| ≤ ε and margin ≤ 0 (the last row)."""
        bounds = [(lo[0], hi[0]) for lo, hi in linear_bounds(self.steps, x[None], upper)]
        lower_x, upper_x = input_box(x[None], upper)
        program = Program(self.steps, bounds, lower_x[0], upper_x[0])
        epsilon = program.add_variables([lower], [upper], 0)[0]
        size, x0 = x.size, np.asarray(x, np.float64).reshape(-1)
        ball = scipy.sparse.lil_matrix((2 * size, len(program.var_lower)))
        ball[np.arange(size), np.arange(size)] = 1.0
        ball[size + np.arange(size), np.arange(size)] = -1.0
        ball[:, epsilon] = -1.0
        rows = [(ball.tocsr(), -np.inf, np.r_[x0, -x0]), (margin_objective(program, label, target)[None], -np.inf, 0.0)]
        return program, epsilon, rows

    def _repaired(self, x, label, target, program, objective, rows, solution):
        """The point of the LP of `solution`'s activation pattern (margin ≤ −_REPAIR_MARGIN, else ≤ 0) and its
        L∞ distance, if a Keras forward pass confirms it reaches the target; else (None, inf)."""
        pattern = np.round(solution[np.concatenate(program.binaries)]) if program.binaries else None  # None: no ReLU
        for margin in (-_REPAIR_MARGIN, 0.0):
            result = program.solve(objective, rows[:-1] + [(rows[-1][0], -np.inf, margin)], pattern=pattern)
            if result.x is not None:
                point = np.clip(result.x[: x.size], 0.0, 1.0).reshape(x.shape).astype(np.float32)
                distance = self._reached(x, point, label, target)
                if np.isfinite(distance):
                    return point, distance
        return None, np.inf

    def bracket(self, x, label, target, attack_linf):
        """Bounds on the minimal L∞ distortion from `x` (float32, e.g. (28, 28), in [0, 1]) reaching `target`.

        Args:
            x: the example; label: its label; target: another label.
            attack_linf: the L∞ distortion of a known point reaching the target (an attack's).

        Returns:
            A `LinfBracket`.
        """
        start_time = time.perf_counter()
        x = np.asarray(x, np.float32)
        if self._margins(x[None], label, target)[0] <= 0:
            return LinfBracket(0.0, 0.0, True, time.perf_counter() - start_time, x.copy())
        upper = float(attack_linf)
        lower = crown_lower_bound(self.steps, x, label, target, upper)
        upper, x_upper = self._pgd_upper(x, label, target, lower, upper)
        if upper > lower * (1 + self.relative_gap):
            program, epsilon, rows = self._program(x, label, target, lower, upper)
            objective = np.zeros(len(program.var_lower))
            objective[epsilon] = 1.0
            result = program.solve(objective, rows, self.time_limit_s, self.relative_gap, heuristics=False)
            if result.status == 2:  # infeasible: no point within `upper` but the one found, up to tolerances
                lower = upper
            dual_bound = getattr(result, "mip_dual_bound", None)
            if dual_bound is not None and np.isfinite(dual_bound):
                lower = min(max(lower, float(dual_bound)), upper)
            if result.x is not None:
                point, distance = self._repaired(x, label, target, program, objective, rows, result.x)
                if distance < upper:
                    upper, x_upper = distance, point
                    lower = min(lower, upper)
        return LinfBracket(lower, upper, bool(upper <= lower * (1 + self.relative_gap)),
                           time.perf_counter() - start_time, x_upper)
