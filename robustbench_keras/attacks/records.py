"""Per-example attack records, their `.npz` file, and the distortion summary derived from them.

One row per attacked example; a failure stays a row (success false, distortions NaN, x_adv = x).
Aggregates are pure functions of the rows (`summarize_distortions`), never kept apart from them.
"""

import dataclasses
import json
import os
import zipfile
import zlib

import numpy as np

from robustbench_keras.atomic import atomic_write
from robustbench_keras.errors import DataError
from robustbench_keras.progress import note
from robustbench_keras.statistics import bootstrap_ci

SCHEMA_VERSION = 1

_DTYPES = {
    "index": np.int64, "label": np.int64, "target": np.int64, "success": bool, "c": np.float64,
    "distortion_rms": np.float64, "distortion_l2": np.float64, "distortion_linf": np.float64,
    "num_grad_evals": np.int64, "num_forward_evals": np.int64, "time_s": np.float64, "x_adv": np.float32,
}


@dataclasses.dataclass
class AttackRecords:
    """One row per attacked example, as numpy arrays of equal length n.

    Attributes:
        index: int64, the example's position in the attacked sample.
        label: int64, its true label.
        target: int64, the label the attack aimed at.
        success: bool, x_adv is classified as the target.
        c: float64, the weight of `||r||_2^2` of the solve that last improved the kept adversarial (NaN: none; 0: no perturbation
            was needed because the example is already classified as the target).
        distortion_rms: float64, `sqrt(sum(r^2) / m)`, the paper's measure (NaN on failure).
        distortion_l2: float64, `||r||_2` (NaN on failure).
        distortion_linf: float64, `max |r|` (NaN on failure).
        num_grad_evals: int64, objective value-and-gradient evaluations spent on the example.
        num_forward_evals: int64, forward-only model evaluations spent on the example.
        time_s: float64, wall time attributed to the example (its batch's time / rows).
        x_adv: float32 (n, ...), the adversarial input, inside [0, 1]; equals x where no success.
        metadata: JSON-able dict (attack settings, objective, target policy, seed, ...).
    """

    index: np.ndarray
    label: np.ndarray
    target: np.ndarray
    success: np.ndarray
    c: np.ndarray
    distortion_rms: np.ndarray
    distortion_l2: np.ndarray
    distortion_linf: np.ndarray
    num_grad_evals: np.ndarray
    num_forward_evals: np.ndarray
    time_s: np.ndarray
    x_adv: np.ndarray
    metadata: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for name, dtype in _DTYPES.items():
            setattr(self, name, np.asarray(getattr(self, name), dtype=dtype))
        lengths = {name: len(getattr(self, name)) for name in _DTYPES}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"AttackRecords: columns differ in length: {lengths}")

    def __len__(self):
        return len(self.index)

    def select(self, mask):
        """The rows where `mask` (bool (n,) or integer indices) selects, with the same metadata."""
        return dataclasses.replace(self, **{name: getattr(self, name)[mask] for name in _DTYPES})

    def save(self, path):
        """Writes the records to `path` (.npz with the metadata as JSON inside), atomically."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        meta = json.dumps({"schema_version": SCHEMA_VERSION, "metadata": self.metadata}, sort_keys=True)

        def write(temporary):
            with open(temporary, "wb") as stream:
                np.savez(stream, metadata_json=np.array(meta), **{name: getattr(self, name) for name in _DTYPES})

        atomic_write(path, write)

    @classmethod
    def load(cls, path):
        """Reads records written by `save`.

        Raises:
            DataError: the file is missing, not a records file, or of another schema version.
        """
        try:
            with np.load(os.fspath(path), allow_pickle=False) as data:
                meta = json.loads(str(data["metadata_json"]))
                columns = {name: data[name] for name in _DTYPES}
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise DataError(f"{path}: expected an attack records .npz written by AttackRecords.save, "
                            f"could not read it ({error}); re-run the attack") from None
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise DataError(f"{path}: expected records schema_version {SCHEMA_VERSION}, "
                            f"got {meta.get('schema_version')!r}; re-run the attack")
        return cls(metadata=meta["metadata"], **columns)

    @classmethod
    def load_intact(cls, path):
        """The records at `path`, or None if there are none; a damaged file (truncated, failing its CRC,
        not records) is deleted with a note on stderr, so that the caller computes it again."""
        if not os.path.isfile(path):
            return None
        try:
            return cls.load(path)
        except DataError as error:
            note(f"{error}; deleted, the attack is redone")
            os.unlink(path)
            return None

    @classmethod
    def concatenate(cls, parts, metadata=None):
        """Rows of several records in order; metadata from the first part unless given."""
        parts = list(parts)
        columns = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _DTYPES}
        return cls(metadata=dict(parts[0].metadata if metadata is None else metadata), **columns)


def summarize_distortions(records, num_resamples=1000, seed=0):
    """Success rate and RMS distortion statistics over the successful rows.

    Args:
        records: AttackRecords.
        num_resamples, seed: of the bootstrap confidence interval of the mean.

    Returns:
        dict: n, num_success, success_rate (fraction), mean, median, p90 and ci95 ([low, high] of
        the mean) of distortion_rms over successful rows (NaN when there are none).
    """
    values = records.distortion_rms[records.success]
    n, num_success = len(records), int(values.size)
    stats = (float(np.mean(values)), float(np.median(values)), float(np.quantile(values, 0.9))) \
        if num_success else (float("nan"),) * 3
    low, high = bootstrap_ci(values, num_resamples=num_resamples, seed=seed)
    return {
        "n": n, "num_success": num_success, "success_rate": num_success / n if n else float("nan"),
        "mean": stats[0], "median": stats[1], "p90": stats[2], "ci95": [low, high],
    }
