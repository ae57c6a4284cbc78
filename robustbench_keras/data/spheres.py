"""The concentric-spheres task of Gilmer et al. (2018): inner sphere of radius 1 (label 0), outer sphere
of radius `radius` (label 1) in R^d, sampled uniformly and reproducibly from a seed.

```python
spec = SpheresSpec(dimension=500, radius=1.3, seed=0)
x, y = spec.sample(1000, stream=0)       # float32 (1000, 500), int64 (1000,); half on each sphere
spec.fingerprint                         # generator, seed, dimension, radius: the data's provenance
```
"""

import dataclasses

import numpy as np

from robustbench_keras.errors import DataError

NAME = "spheres"
GENERATOR = "numpy.random.default_rng(SeedSequence([seed, stream])).standard_normal, normalised"


@dataclasses.dataclass(frozen=True)
class SpheresSpec:
    """Which spheres: `dimension` d >= 2, outer `radius` R > 1 (inner radius 1), the sampling `seed`."""

    dimension: int = 500
    radius: float = 1.3
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.dimension, int) or isinstance(self.dimension, bool) or self.dimension < 2:
            raise DataError(f"spheres: dimension must be an integer >= 2, got {self.dimension!r}")
        if not isinstance(self.radius, (int, float)) or isinstance(self.radius, bool) or not self.radius > 1:
            raise DataError(f"spheres: radius must be a number > 1 (the inner radius is 1), got {self.radius!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise DataError(f"spheres: seed must be a non-negative integer, got {self.seed!r}")

    @property
    def fingerprint(self):
        """JSON-able provenance: the generator and the parameters that determine every sample."""
        return {"dataset": NAME, "generator": GENERATOR, "seed": self.seed,
                "dimension": self.dimension, "radius": float(self.radius)}

    def sample(self, count, stream=0, label=None):
        """`count` points and labels; stream s gives an independent, reproducible draw.

        Args:
            count: number of points.
            stream: a non-negative integer naming the draw (train batches, test sets, ...).
            label: None for alternating labels 0, 1, 0, ...; 0 or 1 for points of one sphere only.

        Returns:
            (x float32 (count, d), y int64 (count,)).
        """
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, stream]))
        g = rng.standard_normal((count, self.dimension))
        y = np.arange(count) % 2 if label is None else np.full(count, label)
        scale = np.where(y == 1, float(self.radius), 1.0) / np.linalg.norm(g, axis=1)
        return (g * scale[:, None]).astype(np.float32), y.astype(np.int64)
