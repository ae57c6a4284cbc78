"""Assembles a run's leaderboard document from its entries, with the provenance shared by all of them."""

from robustbench_keras.attacks import LBFGSAttack
from robustbench_keras.leaderboard.store import nan_to_null
from robustbench_keras.provenance import software_versions, utc_now

SCHEMA_VERSION = "1.0"


def build_document(suite, dataset, entries, controls=None, table5=None):
    """The leaderboard document of one suite run.

    Args:
        suite: the validated `Suite` that produced the entries.
        dataset: the `Dataset` used (its fingerprint is recorded).
        entries: the per-model entries, in table order.
        controls: transfer control rows, or None.
        table5: the AlexNet spectral bounds of Table 5, or None.

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
        "entries": list(entries),
    }
    if controls:
        document["controls"] = controls
    if table5:
        document["table5"] = table5
    return nan_to_null(document)


def attack_description(suite):
    """The attack's full settings (defaults included) and the target policy ("none" if nothing is attacked)."""
    min_distortion = suite.scorers.get("min_distortion")
    target_policy = min_distortion.target if min_distortion is not None else "none"
    return dict(LBFGSAttack(**suite.attack).settings(), target_policy=target_policy)
