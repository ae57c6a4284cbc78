"""Exact nearest errors of a quadratic network, whose decision function is `x^T M x - b` (M = V diag(a) V^T,
a >= 0): the boundary is a quadric, so the nearest boundary point of x solves one secular equation.

Both domains reduce to one multiplier in the eigenbasis z = V^T x:
- unbounded R^d: min |y - z|^2 s.t. sum a_i y_i^2 = b  ->  y_i = z_i / (1 + t a_i), with t the unique root
  of sum a_i z_i^2 / (1 + t a_i)^2 = b on the interval where every 1 + t a_i > 0;
- the sphere |y| = |z|: the constraint becomes sum beta_i y_i^2 = 0 with beta_i = a_i - b / |z|^2, and
  y is the rescaling to radius |z| of u_i = z_i / (1 + s beta_i), s the unique root of
  sum beta_i z_i^2 / (1 + s beta_i)^2 = 0 on (-1 / max beta, -1 / min beta).
Each left-hand side is strictly monotone on its interval, so bracketing (Brent) finds the root.
"""

import numpy as np
import scipy.optimize


def eigen_form(matrix):
    """(a, V): eigenvalues and orthonormal eigenvectors of the symmetric M, float64."""
    a, v = np.linalg.eigh(np.asarray(matrix, dtype=np.float64))
    return np.clip(a, 0.0, None), v


def _root(function, low, high):
    """The root of a decreasing `function` on the open interval (low, high) (either end may be infinite)."""
    span = high - low if np.isfinite(high - low) else 1.0
    a = low + 1e-13 * span if np.isfinite(low) else -1.0
    b = high - 1e-13 * span if np.isfinite(high) else 1.0
    while not np.isfinite(low) and function(a) <= 0:
        a *= 2.0
    while not np.isfinite(high) and function(b) >= 0:
        b *= 2.0
    if function(a) <= 0:
        return a
    if function(b) >= 0:
        return b
    return scipy.optimize.brentq(function, a, b, xtol=1e-15, rtol=1e-15, maxiter=500)


def nearest_unbounded(z, a, b):
    """Nearest point of {sum a_i y_i^2 = b} to z (eigenbasis coordinates), float64 (d,)."""
    z = np.asarray(z, dtype=np.float64)

    def secular(t):
        return np.sum(a * z * z / (1 + t * a) ** 2) - b

    inside = np.sum(a * z * z) < b
    low, high = (-1 / a.max(), 0.0) if inside else (0.0, np.inf)
    t = _root(secular, low, high)
    return z / (1 + t * a)


def nearest_on_sphere(z, a, b):
    """Nearest point of {sum a_i y_i^2 = b, |y| = |z|} to z (eigenbasis), float64 (d,); None if the sphere
    does not meet the boundary (all of it on one side)."""
    z = np.asarray(z, dtype=np.float64)
    radius = np.linalg.norm(z)
    beta = a - b / radius ** 2
    if beta.max() <= 0 or beta.min() >= 0:
        return None

    def secular(s):
        return np.sum(beta * z * z / (1 + s * beta) ** 2)

    s = _root(secular, -1 / beta.max(), -1 / beta.min())
    u = z / (1 + s * beta)
    return radius * u / np.linalg.norm(u)


def nearest_errors(x, matrix, b, domain):
    """Exact nearest boundary points of the rows of x and their distances.

    Args:
        x: (n, d) inputs.
        matrix: symmetric PSD M (d, d) of the decision function x^T M x - b.
        b: the threshold.
        domain: "unbounded" (R^d) or "sphere" (the sphere each row lies on).

    Returns:
        (points float64 (n, d), distance float64 (n,)); inf and NaN rows where none exists.
    """
    a, v = eigen_form(matrix)
    solve = nearest_unbounded if domain == "unbounded" else nearest_on_sphere
    z_all = np.asarray(x, dtype=np.float64) @ v
    points = np.full(z_all.shape, np.nan)
    distance = np.full(len(z_all), np.inf)
    for i, z in enumerate(z_all):
        y = solve(z, a, b)
        if y is not None:
            points[i] = v @ y
            distance[i] = np.linalg.norm(y - z)
    return points, distance
