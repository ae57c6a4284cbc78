"""Per-example brackets on the minimal distortion (issue 14): certified lower bounds beside the attack's upper bound.

The L-BFGS attack's distortion is an upper bound on the minimal one. Two lower bounds:
- Lipschitz: a point x' reaching logit[target] ≥ logit[label] has ||x' − x||₂ ≥ margin / L, where the margin
  is logit[label] − logit[target] at x and L = ||w_label − w_target||₂ times the product of the spectral
  scorer's bounds of every layer below the logits layer (`scorers/spectral.py`): valid for every model it bounds;
- exact: for nets with at most `exact_max_relus` ReLUs, the exact minimal L∞ radius reaching the target
  (`verification.milp.minimal_linf_distortion`, big-M bounds from the attack's own L∞), which is also a
  lower bound on the L2 distortion (||r||₂ ≥ ||r||∞).
The bracket's width is the attack's L2 over the best lower bound (median and p90 over the attacked examples).
"""

import math

import numpy as np

from robustbench_keras.verification.milp import minimal_linf_distortion


def lipschitz_lower_bounds(model, spectral, x, labels, targets):
    """margin / L per example (0 where the margin is ≤ 0): an L2 lower bound on the distortion reaching the target.

    Args:
        model: keras.Model whose last layer is a linear Dense giving the logits.
        spectral: the model's spectral section ({"layers": [{"name", "bound"}], ...}).
        x: float32 (N, ...) in [0, 1]; labels, targets: int (N,).
    """
    if len(x) == 0:
        return np.zeros(0)
    last = model.layers[-1]
    below = math.prod(row["bound"] for row in spectral["layers"] if row["name"] not in (last.name, f"{last.name}/activation"))
    weight = last.kernel.numpy().astype(np.float64)
    logits = model.predict(x, verbose=0).astype(np.float64)
    rows = np.arange(len(x))
    margin = logits[rows, labels] - logits[rows, targets]
    slope = below * np.linalg.norm(weight[:, labels] - weight[:, targets], axis=0)
    return np.where(margin > 0, margin / np.maximum(slope, 1e-300), 0.0)


def _quantiles(values):
    values = np.asarray([v for v in values if np.isfinite(v)])
    return (float(np.median(values)), float(np.quantile(values, 0.9))) if values.size else (None, None)


def bracket(model, steps, spectral, x, records, num_examples, exact_max_relus, time_limit_s):
    """The bracket of the first `num_examples` successful attacks of `records` (on images `x`).

    Args:
        model: the attacked keras.Model; steps: its `network_steps`, or None when not verifiable.
        spectral: its spectral section, or None.
        x: float32 the attacked sample, in `records.index` order.
        records: its `AttackRecords`.
        num_examples: how many successful attacks to bracket.
        exact_max_relus: nets with at most this many ReLUs also get the exact minimal L∞.
        time_limit_s: solver time per example.

    Returns:
        JSON-able dict: per example "index", "attack_l2", "attack_linf", "lipschitz_l2", "exact_linf" (None
        where not computed, NaN → None on a timeout), and "width_median", "width_p90" (attack L2 ÷ best lower
        bound), "linf_ratio_median", "linf_ratio_p90" (attack L∞ ÷ exact L∞).
    """
    chosen = np.flatnonzero(records.success & (records.distortion_l2 > 0))[:num_examples]
    images, labels, targets = x[records.index[chosen]], records.label[chosen], records.target[chosen]
    lipschitz = (lipschitz_lower_bounds(model, spectral, images, labels, targets) if spectral and "layers" in spectral
                 else np.full(len(chosen), np.nan))
    num_relus = sum(len(s.bias) for s in steps if s.relu) if steps else None
    exact = np.full(len(chosen), np.nan)
    if steps and num_relus <= exact_max_relus:
        for k, i in enumerate(chosen):
            # the attack's own L∞ bounds the search: its point is feasible
            epsilon_max = float(records.distortion_linf[i]) * (1 + 1e-6)
            exact[k] = minimal_linf_distortion(steps, images[k], int(labels[k]), int(targets[k]), epsilon_max,
                                               time_limit_s)[0]
    attack_l2, attack_linf = records.distortion_l2[chosen], records.distortion_linf[chosen]
    lower = np.fmax(lipschitz, exact)
    width = np.where(lower > 0, attack_l2 / np.where(lower > 0, lower, 1.0), np.inf)
    ratio = np.where(exact > 0, attack_linf / np.where(exact > 0, exact, 1.0), np.nan)
    width_median, width_p90 = _quantiles(width)
    ratio_median, ratio_p90 = _quantiles(ratio)

    def listed(values):
        return [None if not np.isfinite(v) else float(v) for v in values]

    return {"index": [int(i) for i in records.index[chosen]], "attack_l2": listed(attack_l2),
            "attack_linf": listed(attack_linf), "lipschitz_l2": listed(lipschitz), "exact_linf": listed(exact),
            "width_median": width_median, "width_p90": width_p90,
            "linf_ratio_median": ratio_median, "linf_ratio_p90": ratio_p90}


