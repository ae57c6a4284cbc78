"""Provenance recorded beside every number: software versions, UTC time, file hashes."""

import datetime
import hashlib
import platform
from importlib import metadata

_PACKAGES = {
    "tensorflow": "tensorflow",
    "keras": "keras",
    "tensorflow_probability": "tensorflow-probability",
    "tensorflow_datasets": "tensorflow-datasets",
    "numpy": "numpy",
    "scipy": "scipy",
    "robustbench_keras": "robustbench_keras",
}


def software_versions():
    """{"python": ..., "tensorflow": ..., ...}: the versions that produced a result."""
    versions = {"python": platform.python_version()}
    for key, distribution in _PACKAGES.items():
        try:
            versions[key] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[key] = "not installed"
    return versions


def utc_now():
    """The current UTC time as an ISO 8601 string with a Z suffix, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def file_sha256(path, chunk_bytes=1 << 20):
    """sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(chunk_bytes), b""):
            digest.update(block)
    return digest.hexdigest()
