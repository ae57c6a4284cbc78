"""A 2-D slice of a spheres model's input space: the plane through the origin, a point x of the inner sphere and
its nearest error x', where both spheres are circles. Two panels: the whole plane, and a zoom around x."""

import dataclasses

import numpy as np
from matplotlib.figure import Figure

from robustbench_keras.atomic import atomic_write


@dataclasses.dataclass(frozen=True)
class Plane:
    """Orthonormal axes e1 (along x), e2 (toward x') and the plane coordinates of x and x'.

    Attributes:
        e1, e2: float64 (d,) unit vectors.
        point, error: (2,) coordinates of x and x' in the plane.
        radius: the outer sphere's radius R (the inner one is 1).
        resolution: grid points per side.
    """

    e1: np.ndarray
    e2: np.ndarray
    point: np.ndarray
    error: np.ndarray
    radius: float
    resolution: int

    @classmethod
    def through(cls, x, x_adv, radius, resolution):
        """The plane spanned by x and x_adv (Gram-Schmidt; any direction if they are parallel)."""
        x, x_adv = np.asarray(x, np.float64), np.asarray(x_adv, np.float64)
        e1 = x / np.linalg.norm(x)
        rest = x_adv - (x_adv @ e1) * e1
        if np.linalg.norm(rest) < 1e-12:
            rest = np.roll(e1, 1) - (np.roll(e1, 1) @ e1) * e1
        e2 = rest / np.linalg.norm(rest)
        return cls(e1, e2, np.array([x @ e1, x @ e2]), np.array([x_adv @ e1, x_adv @ e2]), float(radius), resolution)

    def extents(self):
        """[(a_low, a_high, b_low, b_high)] of the two panels: the whole plane, a zoom around x."""
        half = 1.5 * self.radius
        zoom = 3 * max(np.linalg.norm(self.error - self.point), 1e-3)
        return [(-half, half, -half, half),
                (self.point[0] - zoom, self.point[0] + zoom, self.point[1] - zoom, self.point[1] + zoom)]

    def grids(self):
        """Each panel's grid as points of R^d, float64 (resolution, resolution, d)."""
        result = []
        for a_low, a_high, b_low, b_high in self.extents():
            a, b = np.meshgrid(np.linspace(a_low, a_high, self.resolution), np.linspace(b_low, b_high, self.resolution))
            result.append(a[..., None] * self.e1 + b[..., None] * self.e2)
        return result


def plot_slice(path, plane, margins, title, dpi=120):
    """Writes the slice (PNG, atomically): the classes' regions, the boundary, both spheres, x and x'.

    Args:
        path: output file.
        plane: the `Plane`.
        margins: per panel, the outer-minus-inner logit on `plane.grids()`, (resolution, resolution).
        title: the model's name.
        dpi: resolution.
    """
    figure = Figure(figsize=(10, 4.8), dpi=dpi)
    for axes, (a_low, a_high, b_low, b_high), margin, caption in zip(
            figure.subplots(1, 2), plane.extents(), margins, ("the plane through 0, x and x'", "around x")):
        extent = (a_low, a_high, b_low, b_high)
        axes.imshow(margin > 0, origin="lower", extent=extent, cmap="coolwarm", vmin=-0.5, vmax=1.5, alpha=0.35,
                    aspect="equal", interpolation="nearest")
        a, b = np.meshgrid(np.linspace(a_low, a_high, plane.resolution), np.linspace(b_low, b_high, plane.resolution))
        if margin.min() < 0 < margin.max():
            axes.contour(a, b, margin, levels=[0], colors="black", linewidths=1.2)
        angle = np.linspace(0, 2 * np.pi, 720)
        for r, style in ((1.0, "-"), (plane.radius, "--")):
            axes.plot(r * np.cos(angle), r * np.sin(angle), style, color="dimgray", linewidth=1)
        axes.plot(*plane.point, "o", color="tab:blue", label="x (inner sphere)")
        axes.plot(*plane.error, "x", color="tab:red", markersize=9, mew=2, label="nearest error x'")
        axes.set_xlim(a_low, a_high)
        axes.set_ylim(b_low, b_high)
        axes.set_title(caption, fontsize=10)
        axes.set_xlabel("along x")
        axes.set_ylabel("toward x' (orthogonal to x)")
    axes.legend(fontsize=8, loc="upper right")
    figure.suptitle(f"{title}: decision boundary (black), inner class blue, outer class red; spheres r = 1, "
                    f"{plane.radius:g} (dashed)", fontsize=10)
    figure.tight_layout()
    atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=dpi, format="png"))
