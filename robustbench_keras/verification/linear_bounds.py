"""Tighter pre-activation bounds by backward linear relaxation (CROWN, Zhang et al. 2018, arXiv 1811.00866).

Each step's pre-activation z_k is bounded by a linear function of the input, carried back through the
earlier layers: every ReLU a = relu(z) with bounds l < 0 < u is replaced by a ≤ u (z − l) / (u − l) from
above and by a ≥ z (if u > −l) or a ≥ 0 from below, picked per coefficient sign. The linear function is
then bounded over the clipped input box. The result is intersected with the interval bounds, so it is never
looser; both are sound, so the MILP built on them (`milp.py`) stays exact, with fewer binaries and smaller
big-M constants. Dense matrices per example: meant for the small nets exact verification is for.
"""

import numpy as np

from robustbench_keras.verification.bounds import input_box, interval_bounds


def _relaxation(lower, upper):
    """Slopes and offsets of the ReLU's linear upper bound (s_u z + t_u) and lower bound (s_l z)."""
    unstable = (lower < 0) & (upper > 0)
    width = np.where(unstable, upper - lower, 1.0)
    slope_upper = np.where(unstable, upper / width, (lower >= 0).astype(float))
    offset_upper = np.where(unstable, -slope_upper * lower, 0.0)
    slope_lower = np.where(unstable, (upper > -lower).astype(float), (lower >= 0).astype(float))
    return slope_upper, offset_upper, slope_lower


def _backward(steps, bounds, k, lower_x, upper_x):
    """Lower and upper bounds of step k's pre-activation for one example, given bounds of steps < k."""
    coef_upper = coef_lower = steps[k].weight.T  # (outputs of k, inputs of k)
    const_upper = const_lower = steps[k].bias.copy()
    for j in range(k - 1, -1, -1):
        slope_upper, offset_upper, slope_lower = _relaxation(*bounds[j])
        positive, negative = np.maximum(coef_upper, 0), np.minimum(coef_upper, 0)
        const_upper = const_upper + positive @ offset_upper
        coef_upper = positive * slope_upper + negative * slope_lower
        positive, negative = np.maximum(coef_lower, 0), np.minimum(coef_lower, 0)
        const_lower = const_lower + negative @ offset_upper
        coef_lower = positive * slope_lower + negative * slope_upper
        const_upper, const_lower = const_upper + coef_upper @ steps[j].bias, const_lower + coef_lower @ steps[j].bias
        coef_upper, coef_lower = coef_upper @ steps[j].weight.T, coef_lower @ steps[j].weight.T
    upper = const_upper + np.maximum(coef_upper, 0) @ upper_x + np.minimum(coef_upper, 0) @ lower_x
    lower = const_lower + np.maximum(coef_lower, 0) @ lower_x + np.minimum(coef_lower, 0) @ upper_x
    return lower, upper


def linear_bounds(steps, x, epsilon):
    """Pre-activation bounds of every step over the clipped L∞ ball, per example, CROWN ∩ interval bounds.

    Args:
        steps: `bounds.network_steps(model)`; every step but the last is followed by a ReLU.
        x: float (num_examples, ...) in [0, 1].
        epsilon: the ball's L∞ radius.

    Returns:
        [(lower, upper)] one pair per step, each float64 (num_examples, num_outputs), as `interval_bounds`.
    """
    intervals = interval_bounds(steps, x, epsilon)
    lower_x, upper_x = input_box(x, epsilon)
    result = [(lo.copy(), hi.copy()) for lo, hi in intervals]
    for i in range(len(lower_x)):
        example = [(lo[i], hi[i]) for lo, hi in result]
        for k in range(1, len(steps)):
            if not all(steps[j].relu for j in range(k)):
                break  # a linear step inside the net: keep the interval bounds from here on
            lower, upper = _backward(steps, example, k, lower_x[i], upper_x[i])
            example[k] = (np.maximum(lower, example[k][0]), np.minimum(upper, example[k][1]))
            result[k][0][i], result[k][1][i] = example[k]
    return result
