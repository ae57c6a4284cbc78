"""Confidence intervals shared by the scorers: the bootstrap, and Wilson's for a proportion."""

import numpy as np
import scipy.stats


def bootstrap_ci(values, statistic=np.mean, num_resamples=1000, confidence=0.95, seed=0):
    """Percentile bootstrap confidence interval of `statistic` over `values`.

    Args:
        values: 1-D array of finite numbers.
        statistic: function of a 1-D array (applied along axis 1 of the resample matrix when it
            accepts `axis`, e.g. `np.mean`, `np.median`).
        num_resamples: number of bootstrap resamples.
        confidence: coverage of the interval, in (0, 1).
        seed: seed of the resampling, so the same values give the same interval.

    Returns:
        `(low, high)` as floats; `(nan, nan)` for an empty input.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    resamples = values[rng.integers(0, values.size, size=(num_resamples, values.size))]
    estimates = statistic(resamples, axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(estimates, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_rate_ci(num_events, n, num_resamples=1000, confidence=0.95, seed=0):
    """Percentile bootstrap confidence interval of a rate (`num_events` of `n`, e.g. errors on a test set).

    Resampling n 0/1 values with replacement and counting the ones is a Binomial(n, num_events / n)
    draw, so this equals `bootstrap_ci` over the 0/1 values without building the (num_resamples, n) matrix.

    Returns:
        `(low, high)` as fractions; `(nan, nan)` for n = 0.
    """
    if n == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    estimates = rng.binomial(int(n), num_events / n, size=num_resamples) / n
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(estimates, [alpha, 1.0 - alpha])
    return float(low), float(high)


def wilson_ci(count, total, confidence=0.95):
    """Wilson score interval of a binomial proportion `count / total` (Wilson 1927).

    Unlike the bootstrap it is not degenerate at 0 or `total` successes: 0 of 300 gives (0, 0.013).

    Args:
        count: successes, an integer in [0, total].
        total: trials, a positive integer.
        confidence: coverage of the interval, in (0, 1).

    Returns:
        `(low, high)` as floats in [0, 1].
    """
    z = float(scipy.stats.norm.isf((1.0 - confidence) / 2.0))
    p = count / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))
