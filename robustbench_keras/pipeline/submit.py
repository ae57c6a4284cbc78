"""`submit MODEL`: safe load, validate, score next to the zoo, append to the leaderboard with provenance.

The suite must have been run first (`run SUITE`): the submission is scored next to the zoo models of
that run, whose trained models and attack records come from the caches, so only the new model is
attacked. The submitted file is copied to `<output>/submissions/<name>.keras`, where `leaderboard
verify` finds it again; its sha256 identifies it, so the same file submitted twice is recognised.
"""

import shutil
from pathlib import Path

from robustbench_keras import zoo
from robustbench_keras.atomic import atomic_write
from robustbench_keras.data import load_dataset
from robustbench_keras.errors import LeaderboardError
from robustbench_keras.evaluation import clean_errors
from robustbench_keras.leaderboard import reports
from robustbench_keras.leaderboard.entries import Entry, Submission
from robustbench_keras.leaderboard.store import load_leaderboard, nan_to_null, update_leaderboard, with_entry
from robustbench_keras.pipeline.cleanup import delete_files, entry_files, merged_columns, without_entry
from robustbench_keras.pipeline.models import prepare_zoo_models
from robustbench_keras.pipeline.scoring import score_models
from robustbench_keras.provenance import file_sha256, utc_now
from robustbench_keras.submission import (DEFAULT_MAX_SIZE_BYTES, check_name, describe_architecture,
                                          load_submitted_model, submission_path, validate_on_dataset)


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
        The new `Entry`.

    Raises:
        ModelError, LeaderboardError, DataError: with one line; the leaderboard is then untouched.
    """
    leaderboard = Path(suite.output) / "leaderboard.json"
    check_name(name, zoo.names())
    if not leaderboard.is_file():
        raise LeaderboardError(f"{leaderboard}: no leaderboard yet; run `python -m robustbench_keras run {suite.path}` first")
    model_sha256 = file_sha256(model_path) if Path(model_path).is_file() else None
    _check_not_present(load_leaderboard(leaderboard), name, model_sha256, update, leaderboard)
    model = load_submitted_model(model_path, trust_model_code=trust_model_code, max_size_bytes=max_size_bytes)
    dataset = load_dataset(suite.dataset, data_dir=suite.data_dir, progress=progress,
                           spheres_spec=suite.spheres)
    validated = validate_on_dataset(model, dataset, source=str(model_path))
    models, entries = prepare_zoo_models(suite, dataset, progress)
    models[name] = validated.model
    entries[name] = Entry(
        id=name, paper_name=None, source="submission", architecture=describe_architecture(validated.model),
        recipe=None, checkpoint_sha256=model_sha256, seed=suite.seed, train_split=None,
        clean_errors=clean_errors(validated.model, dataset),
        submission=Submission(name=name, model_sha256=model_sha256, submitted_utc=utc_now(), authors=list(authors),
                              link=link, description=description),
    )
    context = score_models(suite, dataset, models, entries, suite.output, progress=progress, only=[name])

    copy = submission_path(suite.output, name)
    copy.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(copy, lambda temporary: shutil.copyfile(model_path, temporary))
    replaced = []

    def add(document):
        replaced.extend(e for e in document["entries"]
                        if e["source"] == "submission" and (e["id"] == name or e["checkpoint_sha256"] == model_sha256))
        for old in replaced:
            if old["id"] != name:
                without_entry(document, old["id"])
        for entry in document["entries"]:  # the zoo rows of the new model's transfer table gain its column
            if entry["id"] in entries and "transfer" in entries[entry["id"]].sections:
                entry["transfer"] = merged_columns(entry.get("transfer"), nan_to_null(entries[entry["id"]].sections["transfer"]))
        return with_entry(document, nan_to_null(entries[name].to_json()), replace=update, where=leaderboard)

    document = update_leaderboard(leaderboard, add)
    reports.publish_reports(suite.output, context)
    kept = set(entry_files(next(e for e in document["entries"] if e["id"] == name), suite.output))
    delete_files([path for old in replaced for path in entry_files(old, suite.output) if path not in kept])
    return entries[name]


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

