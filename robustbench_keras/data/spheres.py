"""The concentric-spheres task of Gilmer et al. (2018): inner sphere of radius 1 (label 0), outer sphere
of radius `radius` (label 1) in R^d, sampled uniformly and reproducibly from a seed.

```python
spec = SpheresSpec(dimension=500, radius=1.3, seed=0)
x, y = spec.sample(1000, stream=0)       # float32 (1000, 500), int64 (1000,); half on each sphere
spec.fingerprint                         # generator, seed, dimension, radius: the data's provenance
ds = SpheresDataset(spec)                # a suite's `dataset: spheres`: splits "train" and "test"
```
"""

import dataclasses
import hashlib
import json

import numpy as np

from robustbench_keras.errors import DataError

NAME = "spheres"
GENERATOR = "numpy.random.default_rng(SeedSequence([seed, stream])).standard_normal, normalised"
SPLIT_NAMES = ("train", "test")
TRAIN_STREAM = 1  # training draws streams TRAIN_STREAM * 10^9 + step (`zoo.spheres_nets.train`)
TEST_STREAM = 2


@dataclasses.dataclass(frozen=True)
class SpheresSpec:
    """Which spheres (a suite's `spheres:` section): `dimension` d >= 2, outer `radius` R > 1 (inner radius 1),
    the sampling `seed`, and the sizes of the fixed "train" and "test" splits (`num_train`, `num_test` >= 2;
    models train on fresh points, the splits only measure their clean errors)."""

    dimension: int = 500
    radius: float = 1.3
    seed: int = 0
    num_train: int = 10_000
    num_test: int = 10_000

    def __post_init__(self):
        if not isinstance(self.dimension, int) or isinstance(self.dimension, bool) or self.dimension < 2:
            raise DataError(f"spheres: dimension must be an integer >= 2, got {self.dimension!r}")
        if not isinstance(self.radius, (int, float)) or isinstance(self.radius, bool) or not self.radius > 1:
            raise DataError(f"spheres: radius must be a number > 1 (the inner radius is 1), got {self.radius!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise DataError(f"spheres: seed must be a non-negative integer, got {self.seed!r}")
        for name in ("num_train", "num_test"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 2:
                raise DataError(f"spheres: {name} must be an integer >= 2, got {value!r}")

    @property
    def fingerprint(self):
        """JSON-able provenance: the generator, the parameters that determine every sample, the split sizes,
        and `id`, 16 hex digits of the sha256 of generator, seed, dimension and radius (the sizes change no
        sample, so trained models are shared across them)."""
        identity = {"generator": GENERATOR, "seed": self.seed, "dimension": self.dimension,
                    "radius": float(self.radius)}
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
        return {"dataset": NAME, "source": "generated", "files": {}, **identity,
                "num_train": self.num_train, "num_test": self.num_test, "id": digest}

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


class SpheresDataset:
    """The spheres as a suite's dataset: `name`, `fingerprint`, `split_names` and `split(name)` like
    `data.Dataset`; "train" is the start of the training stream, "test" an independent draw."""

    name = NAME
    split_names = SPLIT_NAMES

    def __init__(self, spec):
        self.spec = spec
        self._splits = {}

    @property
    def fingerprint(self):
        return self.spec.fingerprint

    def split(self, name):
        """(x float32 (n, d), y int64 (n,)) of "train" (`num_train` points) or "test" (`num_test`).

        Raises:
            DataError: unknown split name.
        """
        if name not in SPLIT_NAMES:
            raise DataError(f"spheres: unknown split {name!r}; expected one of {', '.join(SPLIT_NAMES)}")
        if name not in self._splits:
            count, stream = ((self.spec.num_train, TRAIN_STREAM * 10**9) if name == "train"
                             else (self.spec.num_test, TEST_STREAM))
            self._splits[name] = self.spec.sample(count, stream=stream)
        return self._splits[name]
