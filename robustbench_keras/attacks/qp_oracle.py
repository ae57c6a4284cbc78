"""Exact minimal distortion for affine (linear-softmax) models: the certificate the paper never had.

For logits `z = W^T x + b` (the paper's FC10 models) the target region of label t intersected with
the box is a polytope, so the minimal perturbation is the convex QP

    min 1/2 ||y - x||^2   s.t.   (w_j - w_t).y + b_j - b_t <= 0  for all j != t,   0 <= y <= 1.

Its Lagrangian dual has only `classes - 1` non-negative variables: for multipliers lam the inner
minimiser over the box is `y(lam) = clip(x - A^T lam, 0, 1)` (rows of A: `w_j - w_t`), and the dual
function `q(lam) = 1/2 ||y(lam) - x||^2 + lam.(A y(lam) + d)` is concave and differentiable with
gradient `A y(lam) + d`. It is maximised with SciPy's L-BFGS-B in float64. Weak duality makes
`sqrt(2 q(lam))` a lower bound of the optimum for any lam >= 0, and `y(lam)` is the primal point; its
constraint violation and the duality gap certify the solve.
"""

import dataclasses

import numpy as np
import scipy.optimize

from robustbench_keras.errors import ModelError


@dataclasses.dataclass
class QPSolution:
    """The exact optimum of each example, float64 arrays (n,) unless noted.

    Attributes:
        distance: `||y - x||_2` of the primal point y (inf where the target is unreachable in the box).
        lower_bound: `sqrt(2 q(lam))`, a certified lower bound of the minimal `||r||_2`.
        violation: `max_j (A y + d)_j`, the primal point's worst constraint violation (<= 0: feasible).
        gap: primal minus dual objective, `1/2 ||y - x||^2 - q(lam)`.
        x_opt: float64 (n, m), the primal points.
        multipliers: float64 (n, classes - 1), the dual variables lam.
    """

    distance: np.ndarray
    lower_bound: np.ndarray
    violation: np.ndarray
    gap: np.ndarray
    x_opt: np.ndarray
    multipliers: np.ndarray


def affine_parameters(model, input_shape, atol=1e-4):
    """Reads W (m, classes) and b (classes,) of a model whose logits are affine in its input.

    The model is evaluated at 0 and at every basis vector (one batch of m + 1 inputs), then checked
    against random inputs, so any Keras model works whatever its layers, as long as it is affine.

    Args:
        model: Keras model returning logits.
        input_shape: per-example input shape, e.g. (28, 28).
        atol: largest tolerated logit error of the affine fit on random inputs in [0, 1].

    Returns:
        (W float64 (m, classes), b float64 (classes,)).

    Raises:
        ModelError: the model's logits are not affine in its input.
    """
    m = int(np.prod(input_shape))
    basis = np.concatenate([np.zeros((1, m)), np.eye(m)]).astype(np.float32)
    logits = np.asarray(model.predict(basis.reshape((-1,) + tuple(input_shape)), batch_size=1024, verbose=0),
                        dtype=np.float64)
    b = logits[0]
    w = logits[1:] - b
    probe = np.random.default_rng(0).uniform(size=(16, m)).astype(np.float32)
    got = np.asarray(model.predict(probe.reshape((-1,) + tuple(input_shape)), verbose=0), dtype=np.float64)
    error = np.max(np.abs(got - (probe @ w + b)))
    if error > atol:
        raise ModelError(f"exact QP oracle: expected a model whose logits are affine in its input (e.g. FC10), "
                         f"got an affine-fit error of {error:.3g}; use the oracle on linear-softmax models only")
    return w, b


def _solve_one(w, b, x, target, max_iterations):
    """Dual L-BFGS-B solve for one example; returns (y, lam, q, violation)."""
    others = np.array([j for j in range(w.shape[1]) if j != target])
    a = (w[:, others] - w[:, [target]]).T           # (k-1, m)
    d = b[others] - b[target]                        # (k-1,)
    if np.max(a @ x + d) <= 0:                       # already in the target region
        return x.copy(), np.zeros(len(others)), 0.0, float(np.max(a @ x + d))

    def negative_dual(lam):
        y = np.clip(x - a.T @ lam, 0.0, 1.0)
        slack = a @ y + d
        q = 0.5 * np.sum(np.square(y - x)) + lam @ slack
        return -q, -slack

    result = scipy.optimize.minimize(
        negative_dual, np.zeros(len(others)), jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * len(others),
        options={"maxiter": max_iterations, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 20})
    lam = result.x
    y = np.clip(x - a.T @ lam, 0.0, 1.0)
    return y, lam, -float(result.fun), float(np.max(a @ y + d))


def exact_minimal_distortion(w, b, x, targets, max_iterations=10000):
    """Solves the minimal-distortion QP exactly for each example.

    Args:
        w: float (m, classes); b: float (classes,), the affine logits `x @ w + b`.
        x: float (n, ...) in [0, 1]; targets: int (n,).
        max_iterations: L-BFGS-B iterations of each dual solve.

    Returns:
        QPSolution. An unreachable target (region empty inside the box: the dual is unbounded)
        gives distance inf.
    """
    w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
    flat = np.asarray(x, np.float64).reshape(len(x), -1)
    n, k = len(flat), w.shape[1]
    out = QPSolution(np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty_like(flat), np.empty((n, k - 1)))
    for i in range(n):
        y, lam, q, violation = _solve_one(w, b, flat[i], int(targets[i]), max_iterations)
        primal = 0.5 * np.sum(np.square(y - flat[i]))
        # The dual grows without bound exactly when no box point reaches the target.
        reachable = violation <= 1e-6 * (1.0 + np.max(np.abs(b)))
        out.distance[i] = np.sqrt(2.0 * primal) if reachable else np.inf
        out.lower_bound[i] = np.sqrt(max(2.0 * q, 0.0))
        out.violation[i], out.gap[i] = violation, primal - q
        out.x_opt[i], out.multipliers[i] = y, lam
    return out
