"""Gilmer et al.'s trade-off on the unit sphere in R^d: the Theorem 5.1 bound (its leading term in large d) on d(E) to
an error set of measure mu(E), and the exact d(E) of the set that attains it, a spherical cap.

Distances are ambient Euclidean (chords), as measured by an attack constrained to the sphere.
"""

import numpy as np
import scipy.integrate
import scipy.special
import scipy.stats


def theorem_bound(mu, dimension):
    """Theorem 5.1: d(E) <= Phi^-1(1 - mu) / sqrt(d) for an error set of measure mu on the unit sphere."""
    return scipy.stats.norm.isf(np.asarray(mu, dtype=float)) / np.sqrt(dimension)


def _first_coordinate_density(t, dimension):
    """Density of z_1 for z uniform on the unit sphere in R^d: prop. to (1 - t^2)^((d - 3) / 2)."""
    log_norm = (scipy.special.gammaln(dimension / 2) - scipy.special.gammaln((dimension - 1) / 2)
                - 0.5 * np.log(np.pi))
    return np.exp(log_norm + (dimension - 3) / 2 * np.log1p(-t * t))


def cap_threshold(mu, dimension):
    """The height h of the cap {z_1 >= h} of measure mu: 1 - I_{...} inverted through the beta law of z_1."""
    # (z_1 + 1) / 2 ~ Beta((d - 1) / 2, (d - 1) / 2)
    a = (dimension - 1) / 2
    return 2 * scipy.special.betaincinv(a, a, 1 - mu) - 1


def cap_mean_distance(mu, dimension):
    """Exact mean chord distance from a uniform point of the unit sphere to the cap of measure mu.

    A point at angle theta from the pole is at chord 2 sin((theta - theta0) / 2) from the cap's rim
    (theta > theta0), 0 inside; integrated over the law of z_1 = cos theta.
    """
    h = cap_threshold(mu, dimension)
    theta0 = np.arccos(h)

    def integrand(t):
        return 2 * np.sin((np.arccos(t) - theta0) / 2) * _first_coordinate_density(t, dimension)

    width = 12 / np.sqrt(dimension)  # the law of z_1 has standard deviation ~ 1/sqrt(d)
    lower = max(-1.0, -width)
    value, _ = scipy.integrate.quad(integrand, lower, h, limit=400, points=[min(0.0, h)])
    return float(value)
