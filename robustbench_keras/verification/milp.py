"""Exact verification of a ReLU net by a mixed-integer linear program (Tjeng et al. 2019, MIPVerify, arXiv 1711.07356).

Variables: the input x, and per step what its pre-activation bounds l ≤ z ≤ u (`linear_bounds.linear_bounds`:
CROWN ∩ intervals) leave open: nothing for a stable-inactive ReLU (u ≤ 0, the constant 0), one variable
a = z for a stable-active one (l ≥ 0), and for an unstable one z, its output a and one binary d with
a ≥ 0, a ≥ z, a ≤ z − l (1 − d), a ≤ u d. Solved by HiGHS through `scipy.optimize.milp`. Only the margin's
sign matters, so `verify` asks whether a point with margin ≤ 0 exists: HiGHS proves a target by finding
that program infeasible, mostly from the linear relaxation at its root node, and stops at the first
point it finds. `Program` is shared with the minimal-distortion search (`linf_search.py`).
"""

import dataclasses
import time
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse

from robustbench_keras.verification.bounds import input_box
from robustbench_keras.verification.linear_bounds import linear_bounds

STATUSES = ("robust", "counterexample", "timeout", "unconfirmed")
_SLACK = 1e-7  # widens the interval bounds so rounding never makes the true activations infeasible
# HiGHS silently drops matrix entries below 1e-9 (`small_matrix_value`); L1-trained nets have many. They are
# dropped here instead, and each row is widened by the most they could contribute, so every proof stays sound.
_SMALLEST_WEIGHT = 1e-9
_NO_HEURISTICS = {f"mip_heuristic_run_{name}": False
                  for name in ("rens", "rins", "feasibility_jump", "root_reduced_cost", "zi_round", "shifting")}
_PROVEN = 1e-6  # a dual bound on the margin above this proves the target (beyond HiGHS's tolerances)


@dataclasses.dataclass(frozen=True)
class Verification:
    """The verifier's answer for one example and ε.

    Attributes:
        status: "robust" (no input of the ball changes the label), "counterexample" (`x_adv` changes it,
            checked by a Keras forward pass), "timeout", or "unconfirmed" (the program found a margin ≤ 0
            within solver tolerance that the forward pass does not reproduce).
        time_s: solve time, seconds.
        num_binaries: unstable ReLUs (the program's binaries).
        x_adv: float32 like the example, or None.
        target: the label of `x_adv`, or None.
    """

    status: str
    time_s: float
    num_binaries: int
    x_adv: object = None
    target: object = None


class Program:
    """The MIPVerify constraints of one example: rows in COO form, variable bounds and integrality.

    Only what the bounds leave open is modelled: a stable-inactive unit (u ≤ 0) is the constant 0, with no
    variable, and its row of the next layer's weights is dropped; a stable-active unit (l ≥ 0) is one
    variable a = z; an unstable unit has z, a and its binary d. The input variables come first.
    """

    def __init__(self, steps, bounds, lower_x, upper_x):
        self.rows, self.cols, self.vals, self.row_lower, self.row_upper = [], [], [], [], []
        self.var_lower, self.var_upper, self.integrality = list(lower_x), list(upper_x), [0] * len(lower_x)
        self.num_binaries, self.binaries = 0, []
        units = np.arange(len(lower_x))  # each unit's variable in the layer below; -1: the constant 0
        for step, (lower, upper) in zip(steps, bounds):
            lower, upper = lower - _SLACK * (1 + np.abs(lower)), upper + _SLACK * (1 + np.abs(upper))
            modelled = upper > 0 if step.relu else np.ones(len(lower), bool)
            z = self._affine(step, units, modelled, lower[modelled], upper[modelled])
            units = np.full(len(lower), -1)
            if step.relu:
                unstable = lower[modelled] < 0
                z[unstable] = self._relu(z[unstable], lower[modelled][unstable], upper[modelled][unstable])
            units[modelled] = z
        self.logits = units

    def add_variables(self, lower, upper, integer):
        """New variables with these bounds (integer: 1 for binaries); their indices."""
        start = len(self.var_lower)
        self.var_lower.extend(lower)
        self.var_upper.extend(upper)
        self.integrality.extend([integer] * len(lower))
        return np.arange(start, start + len(lower))

    def _add(self, rows, cols, vals, row_lower, row_upper, num_rows):
        """`num_rows` new rows; `rows` numbers them from 0."""
        self.rows.append(len(self.row_lower) + np.asarray(rows))
        self.cols.append(np.asarray(cols))
        self.vals.append(np.asarray(vals, dtype=np.float64))
        self.row_lower.extend(np.broadcast_to(row_lower, num_rows))
        self.row_upper.extend(np.broadcast_to(row_upper, num_rows))

    def _affine(self, step, units, outputs, lower, upper):
        """Variables z = Wᵀ inputs + b of the step's `outputs` (a mask) within [lower, upper]; their indices."""
        live = units >= 0
        inputs, weight = units[live], step.weight[np.ix_(live, outputs)]
        tiny = np.abs(weight) < _SMALLEST_WEIGHT
        largest_input = np.maximum(np.abs(np.take(self.var_lower, inputs)), np.abs(np.take(self.var_upper, inputs)))
        widening = np.where(tiny, np.abs(weight), 0.0).T @ largest_input
        weight = scipy.sparse.coo_matrix(np.where(tiny, 0.0, weight))
        z = self.add_variables(lower, upper, 0)
        bias, rows = step.bias[outputs], np.arange(len(z))
        self._add(np.r_[rows, weight.col], np.r_[z, inputs[weight.row]],  # |z − Wᵀ inputs − b| ≤ widening
                  np.r_[np.ones(len(z)), -weight.data], bias - widening, bias + widening, len(z))
        return z

    def _relu(self, z, lower, upper):
        """a = relu(z) for unstable units (l < 0 < u): a ≥ 0, a ≥ z, a ≤ z − l (1 − d), a ≤ u d; a's indices."""
        a = self.add_variables(np.zeros(len(z)), upper, 0)
        d = self.add_variables(np.zeros(len(z)), np.ones(len(z)), 1)
        self.binaries.append(d)
        self.num_binaries += len(z)
        rows, one = np.arange(len(z)), np.ones(len(z))
        self._add(np.r_[rows, rows], np.r_[z, a], np.r_[one, -one], -np.inf, 0.0, len(z))  # z − a ≤ 0
        self._add(np.r_[rows, rows, rows], np.r_[a, z, d], np.r_[one, -one, -lower], -np.inf, -lower, len(z))  # a − z − l d ≤ −l
        self._add(np.r_[rows, rows], np.r_[a, d], np.r_[one, -upper], -np.inf, 0.0, len(z))  # a − u d ≤ 0
        return a

    def solve(self, objective, extra_rows=(), time_limit_s=None, relative_gap=None, pattern=None, feasibility=False,
              heuristics=True):
        """Minimises `objective` (dense over the variables) subject to the constraints and `extra_rows`.

        `relative_gap`: HiGHS stops once its dual bound is within this fraction of the best point.
        `pattern`: the binaries' values (one 0/1 per binary variable, as `binaries`): the program becomes
        the linear program of that activation pattern.
        `feasibility`: only whether a feasible point exists matters: HiGHS stops at the first it finds.
        `heuristics`: False turns HiGHS's primal heuristics off: they only look for points, and on these programs
        they spend most of a proof's time at the root node.
        """
        num_vars = len(self.var_lower)
        if getattr(self, "_matrix", None) is None or self._matrix.shape[1] != num_vars:
            self._matrix = scipy.sparse.coo_matrix(
                (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
                shape=(len(self.row_lower), num_vars),
            ).tocsr()
        constraints = [scipy.optimize.LinearConstraint(self._matrix, self.row_lower, self.row_upper)]
        constraints += [scipy.optimize.LinearConstraint(r, lo, hi) for r, lo, hi in extra_rows]
        options = {"time_limit": max(time_limit_s, 1e-3)} if time_limit_s is not None else {}
        if relative_gap is not None:
            options["mip_rel_gap"] = relative_gap
        # HiGHS options beyond scipy's named ones, which scipy passes on as they are
        if feasibility:
            options["mip_max_improving_sols"] = 1
        if not heuristics:
            options.update({"mip_heuristic_effort": 0.0, **_NO_HEURISTICS})
        lower, upper, integrality = np.array(self.var_lower), np.array(self.var_upper), np.array(self.integrality)
        if pattern is not None:
            binaries = np.concatenate(self.binaries)
            lower[binaries] = upper[binaries] = pattern
            integrality[:] = 0
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Unrecognized options detected", RuntimeWarning)
            return scipy.optimize.milp(objective, integrality=integrality, constraints=constraints,
                                       bounds=scipy.optimize.Bounds(lower, upper), options=options)


def margin_objective(program, label, target):
    """logit[label] − logit[target] as a dense row over the program's variables."""
    objective = np.zeros(len(program.var_lower))
    objective[program.logits[label]] += 1.0
    objective[program.logits[target]] -= 1.0
    return objective


def minimal_margin(steps, x, label, target, epsilon, time_limit_s=None):
    """The exact minimum of logit[label] − logit[target] over the clipped L∞ ball (`scipy.optimize.milp` result)."""
    bounds = [(lo[0], hi[0]) for lo, hi in linear_bounds(steps, x[None], epsilon)]
    lower_x, upper_x = input_box(x[None], epsilon)
    program = Program(steps, bounds, lower_x[0], upper_x[0])
    return program.solve(margin_objective(program, label, target), time_limit_s=time_limit_s), program


def verify(model, steps, x, label, epsilon, time_limit_s=60.0):
    """Whether every input of the L∞ ball of radius ε around `x` (clipped to [0, 1]) keeps `label`.

    One program per target label whose bounds do not already exclude it, with the extra row
    logit[label] − logit[target] ≤ 0: the target is proven when HiGHS finds that program infeasible (mostly
    at its root node, from the linear relaxation, before any branching) or its dual bound on the margin
    positive; a point it finds is a counterexample, re-checked with a Keras forward pass. Targets go
    closest to proven first (by the bounds' margin), each with an equal share of the time left; a second
    pass shares what is left among the targets still open.

    Args:
        model: the keras.Model `steps` was read from (`bounds.network_steps`).
        steps: its `Step`s.
        x: float32 one example, e.g. (28, 28), in [0, 1].
        label: its true label.
        epsilon: the ball's radius.
        time_limit_s: solver time for the whole example.

    Returns:
        A `Verification`.
    """
    start = time.perf_counter()
    bounds = [(lo[0], hi[0]) for lo, hi in linear_bounds(steps, x[None], epsilon)]
    lower_x, upper_x = input_box(x[None], epsilon)
    program = Program(steps, bounds, lower_x[0], upper_x[0])
    logit_lower, logit_upper = bounds[-1]
    candidates = [t for t in range(len(logit_lower)) if t != label and logit_lower[label] - logit_upper[t] <= 0]
    pending, unconfirmed = sorted(candidates, key=lambda t: logit_upper[t] - logit_lower[label]), False
    for _ in range(2):
        still_open = []
        for n, target in enumerate(pending):
            share = (time_limit_s - (time.perf_counter() - start)) / (len(pending) - n)
            objective = margin_objective(program, label, target)
            result = program.solve(objective, [(objective[None], -np.inf, 0.0)], time_limit_s=share,
                                   feasibility=True, heuristics=False)
            if result.status == 2:  # infeasible: no input of the ball reaches the target
                continue
            if result.x is not None:
                x_adv = np.clip(result.x[: x.size], lower_x[0], upper_x[0]).reshape(x.shape).astype(np.float32)
                predicted = int(np.argmax(model(x_adv[None], training=False)[0]))
                if predicted != label:
                    return Verification("counterexample", time.perf_counter() - start, program.num_binaries,
                                        x_adv, predicted)
                unconfirmed = True
            elif not (getattr(result, "mip_dual_bound", None) or 0.0) > _PROVEN:
                still_open.append(target)
        pending = still_open
    status = "timeout" if pending else "unconfirmed" if unconfirmed else "robust"
    return Verification(status, time.perf_counter() - start, program.num_binaries)
