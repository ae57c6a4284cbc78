"""The adversarial-spheres trade-off figure: d(E) against mu(E) on log axes, the Theorem 5.1 bound
Phi^-1(1 - mu) / sqrt(d) and the spherical cap's exact mean distance as curves, each model a point."""

import numpy as np
from matplotlib.figure import Figure

from robustbench_keras.atomic import atomic_write
from robustbench_keras.data import spheres_theory


def plot_tradeoff(path, points, dimension, dpi=120):
    """Writes the figure to `path` (PNG, atomically).

    Args:
        path: output file.
        points: [(label, mu, d_e)], one per model (mu in (0, 1/2), d_e > 0).
        dimension: d of the spheres, for the curves.
        dpi: resolution.
    """
    mus = np.array([p[1] for p in points])
    low = min(1e-6, mus.min() / 3)
    grid = np.logspace(np.log10(low), np.log10(0.45), 80)
    figure = Figure(figsize=(6, 4.5), dpi=dpi)
    axes = figure.subplots()
    axes.plot(grid, spheres_theory.theorem_bound(grid, dimension), label="Theorem 5.1 bound")
    axes.plot(grid, [spheres_theory.cap_mean_distance(mu, dimension) for mu in grid], "--",
              label="spherical cap (exact)")
    for label, mu, d_e in points:
        axes.plot([mu], [d_e], "o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("error rate µ(E) on the inner sphere")
    axes.set_ylabel("mean distance to nearest error d(E)")
    axes.set_title(f"Adversarial spheres, d = {dimension}")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=dpi, format="png"))
