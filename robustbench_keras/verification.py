"""`leaderboard verify`: re-evaluate stored entries and say whether they still match.

A zoo entry's model is its cached checkpoint, a submission's the copy kept beside the leaderboard;
either must still have the sha256 the entry records. Clean errors are recomputed on every split the
entry lists; on request, the first examples of its attack records are attacked again with the same
targets and their distortions compared.
"""

import dataclasses
from pathlib import Path

import keras
import numpy as np

from robustbench_keras.attacks import AttackRecords, LBFGSAttack, run_attack
from robustbench_keras.data import load_dataset
from robustbench_keras.errors import LeaderboardError
from robustbench_keras.evaluation import clean_errors
from robustbench_keras.leaderboard.store import load_leaderboard
from robustbench_keras.provenance import file_sha256
from robustbench_keras.scorers.min_distortion import sample_indices
from robustbench_keras.submission import load_submitted_model, validate_model

ERROR_TOLERANCE = 1e-3  # absolute, on error rates: 0.1 percentage point
DISTORTION_TOLERANCE = 1e-2  # relative, per example


@dataclasses.dataclass(frozen=True)
class Check:
    """One stored number compared with its re-measurement."""

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
        num_distortion_examples: also re-attack this many examples per entry (0: clean errors only).
        progress: show progress lines.

    Returns:
        A list of `Check`.

    Raises:
        LeaderboardError: unknown entry, or its model file is missing or has another sha256.
    """
    document = load_leaderboard(Path(suite.output) / "leaderboard.json")
    entries = [e for e in document["entries"] if entry_id is None or e["id"] == entry_id]
    if not entries:
        known = ", ".join(e["id"] for e in document["entries"])
        raise LeaderboardError(f"leaderboard: no entry '{entry_id}' (entries: {known})")
    dataset = load_dataset(suite.dataset, data_dir=suite.data_dir, progress=progress)
    checks = []
    for entry in entries:
        model = _load_entry_model(entry, suite, dataset)
        measured = clean_errors(model, dataset, splits=tuple(entry["clean_errors"]))
        checks += [
            Check(entry["id"], f"{split} error", stored, measured[split], ERROR_TOLERANCE)
            for split, stored in entry["clean_errors"].items()
        ]
        if num_distortion_examples:
            checks += _check_distortions(entry, model, suite, dataset, num_distortion_examples)
    return checks


def _load_entry_model(entry, suite, dataset):
    if entry["source"] == "zoo":
        path = suite.checkpoint_path(entry["id"], dataset)
    else:
        from robustbench_keras.submit import submission_path

        path = submission_path(suite.output, entry["id"])
    if not Path(path).is_file():
        raise LeaderboardError(f"{entry['id']}: model file {path} is missing; cannot verify")
    if file_sha256(path) != entry["checkpoint_sha256"]:
        raise LeaderboardError(f"{entry['id']}: model file {path} does not have the sha256 the entry records")
    if entry["source"] == "zoo":
        return keras.models.load_model(path)
    x_test, y_test = dataset.split("test")
    return validate_model(load_submitted_model(path), x_test[:256], y_test[:256], source=str(path)).model


def _check_distortions(entry, model, suite, dataset, num_examples):
    checks = []
    settings = suite.scorers["min_distortion"]
    for split, summary in entry.get("min_distortion", {}).items():
        records = AttackRecords.load(summary["records"]["path"])
        x, y = dataset.split(split)
        indices = sample_indices(len(x), settings.num_examples, suite.seed)[:num_examples]
        stored = records.select(np.arange(len(indices)))
        again = run_attack(
            LBFGSAttack(**suite.attack), model, x[indices], y[indices], policy="given",
            targets=stored.target, seed=suite.seed, progress=False,
        )
        for number, (before, after) in enumerate(zip(stored.distortion_rms, again.distortion_rms)):
            tolerance = DISTORTION_TOLERANCE * (before if np.isfinite(before) else 0.0)
            checks.append(Check(entry["id"], f"{split} distortion #{number}", float(before), float(after), tolerance))
    return checks
