"""Per-example brackets on the minimal distortion (issue 14): certified lower bounds beside the attack's upper bound.

The L-BFGS attack's distortion is an upper bound on the minimal one. Two lower bounds:
- Lipschitz: a point x' reaching logit[target] ≥ logit[label] has ||x' − x||₂ ≥ margin / L, where the margin
  is logit[label] − logit[target] at x and L = ||w_label − w_target||₂ times the product of the spectral
  scorer's bounds of every layer below the logits layer (`scorers/spectral.py`): valid for every model it bounds;
- L∞: for nets with at most `exact_max_relus` ReLUs, certified bounds [linf_lower, linf_upper] on the minimal
  L∞ distortion reaching the target (`verification.linf_search`: CROWN, targeted PGD, a MILP minimising ε),
  exact when they meet within `relative_gap`; linf_lower is also an L2 lower bound (||r||₂ ≥ ||r||∞).
The bracket's width is the attack's L2 over the best lower bound (median and p90 over the attacked examples);
where the L∞ bracket is exact, the attack's L∞ over the exact value.
"""

import math

import numpy as np

from robustbench_keras.progress import Progress
from robustbench_keras.verification.linf_search import LinfSearch


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


def bracket(model, steps, spectral, x, records, num_examples, exact_max_relus, time_limit_s, relative_gap, seed=0,
            progress=False):
    """The bracket of the first `num_examples` successful attacks of `records` (on images `x`).

    Args:
        model: the attacked keras.Model; steps: its `network_steps`, or None when not verifiable.
        spectral: its spectral section, or None.
        x: float32 the attacked sample, in `records.index` order.
        records: its `AttackRecords`.
        num_examples: how many successful attacks to bracket.
        exact_max_relus: nets with at most this many ReLUs also get the L∞ bracket.
        time_limit_s: MILP time per example; relative_gap: the L∞ bracket's width that counts as exact.
        seed: seeds the targeted PGD of the L∞ search.
        progress: one progress line over the L∞ searches.

    Returns:
        JSON-able dict: per example "index", "attack_l2", "attack_linf", "lipschitz_l2", "linf_lower",
        "linf_upper", "exact_linf" (linf_upper where the bracket is exact), "linf_time_s" (None where not
        computed), "exact_share" (of the bracketed examples; None without L∞ brackets), "width_median",
        "width_p90" (attack L2 ÷ best lower bound), "linf_ratio_median", "linf_ratio_p90" (attack L∞ ÷ exact L∞).
    """
    chosen = np.flatnonzero(records.success & (records.distortion_l2 > 0))[:num_examples]
    images, labels, targets = x[records.index[chosen]], records.label[chosen], records.target[chosen]
    lipschitz = (lipschitz_lower_bounds(model, spectral, images, labels, targets) if spectral and "layers" in spectral
                 else np.full(len(chosen), np.nan))
    attack_l2, attack_linf = records.distortion_l2[chosen], records.distortion_linf[chosen]
    num_relus = sum(len(s.bias) for s in steps if s.relu) if steps else None
    linf_lower, linf_upper, exact, times = (np.full(len(chosen), np.nan) for _ in range(4))
    searched = bool(steps) and num_relus <= exact_max_relus
    if searched:
        search = LinfSearch(model, steps, time_limit_s, relative_gap, seed)
        with Progress(f"bracketing {model.name}'s minimal L∞", len(chosen), unit="attack", enabled=progress) as bar:
            for k in range(len(chosen)):
                result = search.bracket(images[k], int(labels[k]), int(targets[k]), float(attack_linf[k]))
                linf_lower[k], linf_upper[k], times[k] = result.lower, result.upper, result.time_s
                exact[k] = result.upper if result.exact else np.nan
                bar.update(1, info="exact" if result.exact else f"[{result.lower:.4f}, {result.upper:.4f}]")
    lower = np.fmax(lipschitz, linf_lower)
    width = np.where(lower > 0, attack_l2 / np.where(lower > 0, lower, 1.0), np.inf)
    ratio = np.where(exact > 0, attack_linf / np.where(exact > 0, exact, 1.0), np.nan)
    width_median, width_p90 = _quantiles(width)
    ratio_median, ratio_p90 = _quantiles(ratio)

    def listed(values):
        return [None if not np.isfinite(v) else float(v) for v in values]

    return {"index": [int(i) for i in records.index[chosen]], "attack_l2": listed(attack_l2),
            "attack_linf": listed(attack_linf), "lipschitz_l2": listed(lipschitz), "linf_lower": listed(linf_lower),
            "linf_upper": listed(linf_upper), "exact_linf": listed(exact), "linf_time_s": listed(times),
            "exact_share": float(np.isfinite(exact).mean()) if searched and len(chosen) else None,
            "width_median": width_median, "width_p90": width_p90,
            "linf_ratio_median": ratio_median, "linf_ratio_p90": ratio_p90}
