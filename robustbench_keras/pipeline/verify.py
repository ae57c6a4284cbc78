"""`leaderboard verify`: recompute what an entry stores from its records, then re-measure it.

A zoo entry's model is its cached checkpoint, a submission's the copy kept beside the leaderboard;
either must still have the sha256 the entry records, and so must its attack records. Every
min_distortion summary is first recomputed from the stored records (exactly); then clean errors
are re-measured on every split the entry lists and, on request, the first examples of its records
are attacked again with the same targets and their distortions compared.
"""

import dataclasses
import math
from pathlib import Path

import keras
import numpy as np

from robustbench_keras.attacks import LBFGSAttack, run_attack
from robustbench_keras.data import load_dataset
from robustbench_keras.errors import LeaderboardError
from robustbench_keras.evaluation import clean_errors
from robustbench_keras.leaderboard.store import load_leaderboard, nan_to_null
from robustbench_keras.provenance import file_sha256
from robustbench_keras.scorers import min_distortion
from robustbench_keras.submission import load_submitted_model, submission_path, validate_on_dataset

ERROR_TOLERANCE = 1e-3  # absolute, on error rates: 0.1 percentage point
DISTORTION_TOLERANCE = 1e-2  # relative, per example
SUMMARY_TOLERANCE = 1e-12  # relative: a summary recomputed from the same records is the same number


@dataclasses.dataclass(frozen=True)
class Check:
    """One stored number compared with its recomputation or re-measurement."""

    entry_id: str
    quantity: str
    stored: float
    measured: float
    tolerance: float

    @property
    def ok(self):
        if np.isnan(self.stored) and np.isnan(self.measured):
            return True
        return bool(abs(self.measured - self.stored) <= self.tolerance)


def verify_entries(suite, entry_id=None, num_distortion_examples=0, progress=True):
    """Re-evaluates one entry (or all) of the suite's leaderboard.

    Args:
        suite: the validated `Suite` whose leaderboard is checked.
        entry_id: the entry to check; None checks every entry.
        num_distortion_examples: also re-attack this many examples per entry (0: none).
        progress: show progress lines.

    Returns:
        A list of `Check`.

    Raises:
        LeaderboardError: unknown entry, or its model file or records are missing or have another sha256.
    """
    folder = Path(suite.output)
    document = load_leaderboard(folder / "leaderboard.json")
    entries = [e for e in document["entries"] if entry_id is None or e["id"] == entry_id]
    if not entries:
        known = ", ".join(e["id"] for e in document["entries"])
        raise LeaderboardError(f"leaderboard: no entry '{entry_id}' (entries: {known})")
    dataset = load_dataset(suite.dataset, data_dir=suite.data_dir, progress=progress,
                           spheres_spec=suite.spheres)
    checks = []
    for entry in entries:
        model = _load_entry_model(entry, suite, dataset)
        checks += _check_summaries(entry, model, suite, dataset, folder)
        measured = clean_errors(model, dataset, splits=tuple(entry["clean_errors"]))
        checks += [
            Check(entry["id"], f"{split} error", stored, measured[split], ERROR_TOLERANCE)
            for split, stored in entry["clean_errors"].items()
        ]
        if num_distortion_examples:
            checks += _check_distortions(entry, model, suite, dataset, folder, num_distortion_examples)
    return checks


def _load_entry_model(entry, suite, dataset):
    path = suite.checkpoint_path(entry["id"], dataset) if entry["source"] == "zoo" else submission_path(
        suite.output, entry["id"])
    if not Path(path).is_file():
        raise LeaderboardError(f"{entry['id']}: model file {path} is missing; cannot verify")
    if file_sha256(path) != entry["checkpoint_sha256"]:
        raise LeaderboardError(f"{entry['id']}: model file {path} does not have the sha256 the entry records")
    if entry["source"] == "zoo":
        return keras.models.load_model(path)
    return validate_on_dataset(load_submitted_model(path), dataset, source=str(path)).model


def _sample(suite, dataset, split, count=None):
    x, y = dataset.split(split)
    indices = min_distortion.sample_indices(len(x), suite.scorers["min_distortion"].num_examples, suite.seed)
    return x[indices[:count]], y[indices[:count]]


def _check_summaries(entry, model, suite, dataset, folder):
    """Every number of each min_distortion summary against the same summary recomputed from its records."""
    checks = []
    for split, stored in entry.get("min_distortion", {}).items():
        records = min_distortion.load_records(stored, folder)
        x, _ = _sample(suite, dataset, split)
        recomputed = nan_to_null(min_distortion.summarize(records, x, model, stored["target_policy"]))
        for quantity, before, after in _numbers(stored, recomputed):
            tolerance = SUMMARY_TOLERANCE * abs(before) if before is not None else 0.0
            checks.append(Check(entry["id"], f"{split} summary {quantity}", _number(before), _number(after), tolerance))
    return checks


def _numbers(stored, recomputed, prefix=""):
    """(path, stored value, recomputed value) of every number in `stored` (the records' file name aside)."""
    for key, value in stored.items():
        if key in ("records", "target_policy"):
            continue
        other = recomputed.get(key) if isinstance(recomputed, dict) else None
        if isinstance(value, dict):
            yield from _numbers(value, other or {}, f"{prefix}{key}.")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield f"{prefix}{key}[{index}]", item, other[index] if isinstance(other, list) else None
        else:
            yield f"{prefix}{key}", value, other


def _number(value):
    return float("nan") if value is None else float(value)


def _check_distortions(entry, model, suite, dataset, folder, num_examples):
    checks = []
    for split, summary in entry.get("min_distortion", {}).items():
        records = min_distortion.load_records(summary, folder)
        x, y = _sample(suite, dataset, split, num_examples)
        stored = records.select(np.arange(len(x)))
        again = run_attack(LBFGSAttack(suite.attack), model, x, y, target_policy="given", targets=stored.target,
                           seed=suite.seed, progress=False)
        for number, (before, after) in enumerate(zip(stored.distortion_rms, again.distortion_rms)):
            tolerance = DISTORTION_TOLERANCE * (before if math.isfinite(before) else 0.0)
            checks.append(Check(entry["id"], f"{split} distortion #{number}", float(before), float(after), tolerance))
    return checks
