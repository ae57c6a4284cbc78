"""The only writer of leaderboard files: validated, atomic, serialised by a file lock.

A leaderboard is one JSON document per suite run (see `schema.json`). Every write validates the
new document, refuses to replace a corrupt or invalid file, writes a temporary file in the same
folder, fsyncs it and renames it over the old one, so a reader sees either the old or the new
document and a process killed mid-write leaves the old file intact (`robustbench_keras.atomic`).
Read-modify-write cycles (`update_leaderboard`, `add_entry`, `remove_entry`) hold a lock on
`<file>.lock`, so concurrent submissions never lose an entry. The lock is an existence lock
(`filelock.SoftFileLock`): its marker records the holder's PID, a crashed holder's marker is reclaimed,
and a release deletes it, so no lock file stays beside the leaderboard. (A `flock` lock file must stay:
deleting it on release lets two processes lock different files under the same name.)
"""

import copy
import json
import math
import os
from functools import lru_cache
from importlib import resources

import filelock
import jsonschema

from robustbench_keras.atomic import atomic_write_text
from robustbench_keras.errors import LeaderboardError

SCHEMA_VERSION = "1.0"
LOCK_TIMEOUT_S = 120.0


@lru_cache(maxsize=1)
def load_schema():
    """The leaderboard JSON Schema (draft 2020-12) shipped as `leaderboard/schema.json`."""
    text = resources.files("robustbench_keras.leaderboard").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)


def _validator():
    return jsonschema.Draft202012Validator(load_schema())


def format_json_path(parts):
    """A JSON path like `$.entries[2].id` from a sequence of keys and indices."""
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _first_non_finite(value, parts=()):
    """Where the first NaN or infinity sits in `value` (JSON has neither), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return parts
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _first_non_finite(item, parts + (key,))
        if found is not None:
            return found
    return None


def nan_to_null(value):
    """A copy of `value` with every NaN or infinity replaced by None (JSON null).

    Scorers report a statistic over no successful adversarial as NaN; the leaderboard stores it
    as null. Apply this when assembling a document, before `write_leaderboard`.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: nan_to_null(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [nan_to_null(item) for item in value]
    return value


def validate_document(document, where="leaderboard"):
    """Checks a leaderboard document against the schema and the uniqueness of its entries.

    Args:
        document: the parsed leaderboard (dict).
        where: what to name in the error message (usually the file path).

    Raises:
        LeaderboardError: naming `where`, the JSON path of the first problem and what is wrong.
    """
    non_finite = _first_non_finite(document)
    if non_finite is not None:
        raise LeaderboardError(
            f"{where}: {format_json_path(non_finite)}: expected a finite number, got a NaN or infinity "
            "(store a missing statistic as null: store.nan_to_null)"
        )
    errors = sorted(_validator().iter_errors(document), key=lambda error: list(map(str, error.absolute_path)))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        raise LeaderboardError(
            f"{where}: {format_json_path(error.absolute_path)}: {error.message} "
            f"(does not match leaderboard schema {SCHEMA_VERSION})"
        )
    for key in ("id", "checkpoint_sha256"):
        seen = set()
        for index, entry in enumerate(document["entries"]):
            if entry[key] in seen:
                raise LeaderboardError(
                    f"{where}: $.entries[{index}].{key}: {entry[key]!r} appears twice, expected each "
                    "entry once (remove one of them)"
                )
            seen.add(entry[key])


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _read(path):
    """Parses and validates the file at `path`; LeaderboardError if it is missing or bad."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError:
        raise LeaderboardError(
            f"{path}: no leaderboard file here (run a suite first, e.g. `python -m robustbench_keras run "
            "suites/mnist.yaml`)"
        ) from None
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise LeaderboardError(
            f"{path}: corrupt leaderboard, expected JSON, got {type(error).__name__}: {error} "
            "(restore the file from a backup or delete it; it is left untouched)"
        ) from None
    validate_document(document, where=path)
    return document


def _lock(path, timeout_s):
    return filelock.SoftFileLock(os.fspath(path) + ".lock", timeout=timeout_s)


def _acquired(lock, path):
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LeaderboardError(
            f"{path}: could not lock {lock.lock_file} within {lock.timeout:g} s, another process is "
            "writing the leaderboard (wait for it to finish and try again; if none is, delete the lock file)"
        ) from None
    return lock


def _write_unlocked(path, document, check_existing=True):
    """Validates `document` and atomically replaces `path` with it (caller holds the lock).

    `check_existing` re-reads the current file first, to refuse overwriting a corrupt one; a
    caller that has just read it under the same lock passes False.
    """
    path = os.fspath(path)
    validate_document(document, where=path)
    if check_existing and os.path.exists(path):
        _read(path)
    atomic_write_text(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def load_leaderboard(path):
    """Reads and validates a leaderboard file.

    Args:
        path: the leaderboard JSON file.

    Returns:
        The document as a dict.

    Raises:
        LeaderboardError: the file is missing, is not JSON, or does not match the schema; the
            message names the file and the first problem. The file is never modified.
    """
    return _read(os.fspath(path))


def write_leaderboard(path, document, timeout_s=LOCK_TIMEOUT_S):
    """Validates `document`, then atomically writes it to `path` under the file lock.

    An existing file at `path` is replaced only if it is itself a valid leaderboard.

    Args:
        path: the leaderboard JSON file; its folder must exist.
        document: the full leaderboard document (dict).
        timeout_s: how long to wait for another writer's lock.

    Raises:
        LeaderboardError: `document` is invalid, the existing file is corrupt or invalid, or the
            lock was not acquired in time. Nothing is written then.
    """
    with _acquired(_lock(path, timeout_s), path):
        _write_unlocked(path, document)


def update_leaderboard(path, change_fn, timeout_s=LOCK_TIMEOUT_S):
    """Read-modify-write of a leaderboard under the file lock.

    Args:
        path: an existing, valid leaderboard file.
        change_fn: `document -> document`; receives a private copy and returns the new document
            (it may mutate and return its argument). A `UserError` it raises aborts the update.
        timeout_s: how long to wait for another writer's lock.

    Returns:
        The document as written.

    Raises:
        LeaderboardError: the file is missing, corrupt or invalid, the new document is invalid,
            or the lock was not acquired in time; the file is left as it was.
    """
    with _acquired(_lock(path, timeout_s), path):
        document = change_fn(copy.deepcopy(_read(os.fspath(path))))
        if not isinstance(document, dict):
            raise TypeError(f"change_fn must return the new document (a dict), got {type(document).__name__}")
        _write_unlocked(path, document, check_existing=False)
        return document


def with_entry(document, entry, replace=False, where="leaderboard"):
    """A copy of `document` with `entry` added: the change `add_entry` makes, without any file.

    Args:
        document: a leaderboard document (dict); not modified.
        entry: the entry (dict, see `schema.json#/$defs/entry`).
        replace: if True, entries with the same id or checkpoint sha256 are replaced, the new entry
            taking the first one's place; otherwise such an entry is an error.
        where: what to name in the error message (usually the file path).

    Returns:
        The new document; a new entry goes last.

    Raises:
        LeaderboardError: a same-id or same-checkpoint entry exists and `replace` is False.
    """
    document = copy.deepcopy(document)
    entries = document["entries"]
    clashes = [
        index for index, old in enumerate(entries)
        if old["id"] == entry["id"] or old["checkpoint_sha256"] == entry["checkpoint_sha256"]
    ]
    if clashes and not replace:
        old = entries[clashes[0]]
        what = "id" if old["id"] == entry["id"] else f"checkpoint sha256 {entry['checkpoint_sha256'][:12]}…"
        raise LeaderboardError(
            f"{where}: entry {entry['id']!r}: the {what} is already on the leaderboard as entry "
            f"{old['id']!r} (pass replace=True / --update to replace it)"
        )
    kept = [old for index, old in enumerate(entries) if index not in clashes]
    position = clashes[0] if clashes else len(kept)
    document["entries"] = kept[:position] + [copy.deepcopy(entry)] + kept[position:]
    return document


def add_entry(path, entry, replace=False, timeout_s=LOCK_TIMEOUT_S):
    """Adds one model's entry to a leaderboard, under the file lock (see `with_entry`).

    Args:
        path: an existing, valid leaderboard file.
        entry: the entry (dict, see `schema.json#/$defs/entry`).
        replace: if True, an entry with the same id or checkpoint sha256 is replaced in place;
            otherwise such an entry is an error.
        timeout_s: how long to wait for another writer's lock.

    Returns:
        The document as written.

    Raises:
        LeaderboardError: a same-id or same-checkpoint entry exists and `replace` is False, or
            any `update_leaderboard` error.
    """
    where = os.fspath(path)
    return update_leaderboard(path, lambda document: with_entry(document, entry, replace, where), timeout_s=timeout_s)


def remove_entry(path, entry_id, timeout_s=LOCK_TIMEOUT_S):
    """Removes the entry `entry_id` from a leaderboard.

    Returns:
        The document as written.

    Raises:
        LeaderboardError: no entry has that id (the message lists the ids), or any
            `update_leaderboard` error.
    """

    def change(document):
        ids = [entry["id"] for entry in document["entries"]]
        if entry_id not in ids:
            raise LeaderboardError(
                f"{path}: no entry {entry_id!r}, expected one of: {', '.join(ids) or '(none)'}"
            )
        document["entries"] = [entry for entry in document["entries"] if entry["id"] != entry_id]
        return document

    return update_leaderboard(path, change, timeout_s=timeout_s)
