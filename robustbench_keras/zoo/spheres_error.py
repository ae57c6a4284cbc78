"""A sphere model's error rate mu(E): estimated on fresh points with a CI, and exactly for the quadratic net.

Exact: for z uniform on the sphere of radius r, z = r g / |g| with g standard normal, so the quadratic
net errs on the inner sphere (r = 1) where sum (a_i - b) g_i^2 > 0 and on the outer one (r = R) where
sum (b - R^2 a_i) g_i^2 > 0: the sign of a weighted sum of chi-square(1) variables, whose law is
Imhof's (1961) one-dimensional integral P(Q > 0) = 1/2 + (1/pi) int_0^inf sin(theta(u)) / (u rho(u)) du,
theta(u) = (1/2) sum arctan(lambda_i u), rho(u) = prod (1 + lambda_i^2 u^2)^(1/4).
"""

import numpy as np
import scipy.integrate

from robustbench_keras.evaluation import predict_labels
from robustbench_keras.progress import Progress
from robustbench_keras.statistics import wilson_ci


def positive_probability(weights):
    """P(sum_i w_i g_i^2 > 0) for independent standard normal g_i (Imhof's formula)."""
    w = np.asarray(weights, dtype=np.float64)
    w = w[w != 0] / np.abs(w).max()
    if w.size == 0:
        return 0.0

    def integrand(u):
        theta = 0.5 * np.sum(np.arctan(w * u))
        log_rho = 0.25 * np.sum(np.log1p((w * u) ** 2))
        return np.sin(theta) / u * np.exp(-log_rho)

    total, upper = 0.0, 0.0
    for width in (1.0, 10.0, 100.0, 1e3, 1e4, 1e5):  # the integrand decays like u^-(1 + k/2)
        value, _ = scipy.integrate.quad(integrand, upper, width, limit=500, epsabs=1e-13, epsrel=1e-11)
        total, upper = total + value, width
    return float(np.clip(0.5 + total / np.pi, 0.0, 1.0))


def exact_error_rates(matrix, b, radius):
    """Exact (inner, outer) error rates of the quadratic net x^T M x - b (outer when > 0)."""
    a = np.clip(np.linalg.eigvalsh(np.asarray(matrix, dtype=np.float64)), 0.0, None)
    return positive_probability(a - b), positive_probability(b - radius ** 2 * a)


def estimated_error_rates(model, spec, count=1_000_000, batch_size=50_000, stream=7, show_progress=True):
    """mu(E) of each sphere on `count` fresh points per sphere, with 95% Wilson intervals.

    Returns:
        {"inner": {...}, "outer": {...}}, each {"error", "ci_low", "ci_high", "points"}.
    """
    result = {}
    with Progress("error rate on fresh points", 2 * count, unit="point", enabled=show_progress) as progress:
        for label, name in ((0, "inner"), (1, "outer")):
            errors = 0
            for start in range(0, count, batch_size):
                n = min(batch_size, count - start)
                x, y = spec.sample(n, stream=stream * 10**9 + 2 * start + label, label=label)
                errors += int(np.sum(predict_labels(model, x, batch_size=n) != y))
                progress.update(n)
            result[name] = {"error": errors / count, **_wilson(errors, count), "points": count}
    return result


def _wilson(errors, count, confidence=0.95):
    """Wilson score interval of a binomial proportion, as {"ci_low", "ci_high"}."""
    low, high = wilson_ci(errors, count, confidence)
    return {"ci_low": low, "ci_high": high}
