"""Assembles a run's leaderboard document from its entries, with the provenance shared by all of them."""

import dataclasses

from robustbench_keras.leaderboard.store import SCHEMA_VERSION, nan_to_null
from robustbench_keras.provenance import software_versions, utc_now


def build_document(suite, dataset, entries, sections=None):
    """The leaderboard document of one suite run.

    Args:
        suite: the validated `Suite` that produced the entries.
        dataset: the `Dataset` used (its fingerprint is recorded).
        entries: the per-model `Entry` objects, in table order.
        sections: top-level sections the scorers produced (e.g. "controls", "table5").

    Returns:
        A JSON-able dict following `leaderboard/schema.json` (NaN statistics, e.g. of a sample with
        no successful adversarial, become null).
    """
    document = {
        "schema_version": SCHEMA_VERSION,
        "suite": {"name": suite.name, "path": suite.path, "hash": suite.hash()},
        "created_utc": utc_now(),
        "software": software_versions(),
        "data_fingerprint": dataset.fingerprint,
        "attack": attack_description(suite),
        "scorers": {name: dataclasses.asdict(settings) for name, settings in suite.scorers.items()},
        "entries": [entry.to_json() for entry in entries],
    }
    document.update({key: value for key, value in (sections or {}).items() if value})
    return nan_to_null(document)


def attack_description(suite):
    """The attack's effective settings (defaults included) and the target policy ("none" if nothing is attacked;
    "closest", the other class, for the spheres)."""
    min_distortion = suite.scorers.get("min_distortion")
    target_policy = min_distortion.target_policy if min_distortion is not None else "none"
    if "spheres" in suite.scorers:
        target_policy = "closest"
    return dict(suite.attack.to_json(), target_policy=target_policy)
