"""Submitting a new model to a suite's leaderboard: safe load, validate, evaluate, append with provenance.

The suite must have been run first (`run SUITE`): the submission is scored next to the zoo models of
that run, whose trained models and attack records come from the caches, so only the new model is
attacked. The submitted file is copied to `<output>/submissions/<name>.keras`, where `leaderboard
verify` finds it again; its sha256 identifies it, so the same file submitted twice is recognised.
"""

import re
import shutil
from pathlib import Path

from robustbench_keras import zoo
from robustbench_keras.data import load_dataset
from robustbench_keras.errors import LeaderboardError, ModelError
from robustbench_keras.evaluation import clean_errors
from robustbench_keras.leaderboard import reports
from robustbench_keras.leaderboard.store import load_leaderboard, update_leaderboard
from robustbench_keras.provenance import file_sha256, utc_now
from robustbench_keras.runner import prepare_zoo_model
from robustbench_keras.scoring import score_models
from robustbench_keras.submission import load_submitted_model, validate_model
from robustbench_keras.submission.loading import DEFAULT_MAX_SIZE_BYTES

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
NUM_VALIDATION_EXAMPLES = 256


def submission_path(output, name):
    """Where a submitted model's copy is kept."""
    return Path(output) / "submissions" / f"{name}.keras"


def submit_model(model_path, suite, *, name, authors=(), link=None, description=None, update=False,
                 trust_model_code=False, max_size_bytes=DEFAULT_MAX_SIZE_BYTES, progress=True):
    """Evaluates a Keras model file with the suite's scorers and appends its entry to the leaderboard.

    Args:
        model_path: the `.keras` file.
        suite: the validated `Suite` whose leaderboard (`<output>/leaderboard.json`) receives the entry.
        name: the entry's id: letters, digits, '.', '_' or '-', not a zoo model id.
        authors, link, description: optional metadata.
        update: replace an entry with the same name or the same model file.
        trust_model_code: allow Lambda layers and custom code (they run!).
        max_size_bytes: larger files are refused.
        progress: show progress lines.

    Returns:
        The new entry.

    Raises:
        ModelError, LeaderboardError, DataError: with one line; the leaderboard is then untouched.
    """
    leaderboard = Path(suite.output) / "leaderboard.json"
    _check_name(name)
    if not leaderboard.is_file():
        raise LeaderboardError(f"{leaderboard}: no leaderboard yet; run `python -m robustbench_keras run {suite.path}` first")
    model_sha256 = file_sha256(model_path) if Path(model_path).is_file() else None
    _check_not_present(load_leaderboard(leaderboard), name, model_sha256, update, leaderboard)
    model = load_submitted_model(model_path, trust_model_code=trust_model_code, max_size_bytes=max_size_bytes)
    dataset = load_dataset(suite.dataset, data_dir=suite.data_dir, progress=progress)
    x_test, y_test = dataset.split("test")
    validated = validate_model(
        model, x_test[:NUM_VALIDATION_EXAMPLES], y_test[:NUM_VALIDATION_EXAMPLES], source=str(model_path)
    )
    models, entries = {}, {}
    for model_id in suite.models:
        models[model_id], entries[model_id] = prepare_zoo_model(model_id, dataset, suite, progress)
    models[name] = validated.model
    entries[name] = _submission_entry(name, validated, model_sha256, suite, dataset, authors, link, description)
    results = score_models(suite, dataset, models, entries, suite.output, progress=progress, only=[name])

    copy = submission_path(suite.output, name)
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_path, copy)

    def add(document):
        kept = [e for e in document["entries"] if e["id"] != name and e["checkpoint_sha256"] != model_sha256]
        for entry in kept:  # the zoo rows of the new model's transfer table gain its column
            if entry["id"] in entries and "transfer" in entries[entry["id"]]:
                entry["transfer"] = entries[entry["id"]]["transfer"]
        document["entries"] = kept + [entries[name]]
        return document

    document = update_leaderboard(leaderboard, add)
    reports.write_reports(document, suite.output, results)
    return entries[name]


def _check_name(name):
    if not name or not NAME_PATTERN.match(name):
        raise ModelError(f"--name: expected letters, digits, '.', '_' or '-' (at most 100), got '{name}'")
    if name in zoo.names():
        raise ModelError(f"--name: '{name}' is a zoo model id; choose another name")


def _check_not_present(document, name, model_sha256, update, leaderboard):
    for entry in document["entries"]:
        if update and entry["source"] == "submission":
            continue
        if entry["id"] == name:
            raise LeaderboardError(f"{leaderboard}: an entry named '{name}' exists; --update replaces it")
        if model_sha256 is not None and entry["checkpoint_sha256"] == model_sha256:
            raise LeaderboardError(
                f"{leaderboard}: this model file is already on the leaderboard as '{entry['id']}' "
                "(same sha256); --update replaces that entry"
            )


def _submission_entry(name, validated, model_sha256, suite, dataset, authors, link, description):
    return {
        "id": name,
        "paper_name": None,
        "source": "submission",
        "architecture": describe_architecture(validated.model),
        "recipe": None,
        "checkpoint_sha256": model_sha256,
        "seed": suite.seed,
        "train_split": None,
        "clean_errors": clean_errors(validated.model, dataset),
        "timings": {},
        "submission": {
            "name": name,
            "authors": list(authors),
            "link": link,
            "description": description,
            "model_sha256": model_sha256,
            "submitted_utc": utc_now(),
        },
    }


def describe_architecture(model):
    """A one-line description: the layer classes with their sizes, e.g. "Flatten > Dense(128) > Dense(10)"."""
    parts = []
    for layer in model.layers:
        size = getattr(layer, "units", None) or getattr(layer, "filters", None)
        parts.append(f"{type(layer).__name__}({size})" if size else type(layer).__name__)
    return " > ".join(part for part in parts if part != "InputLayer")
