"""Walks a suite through the pipeline: data, models, scorers, leaderboard and reports.

Resumable: trained models come from the zoo's cache and attacked examples from the per-example records
already on disk, so a run started again after an interruption redoes nothing that was finished and
ends with the same results.
"""

import dataclasses
import time
from pathlib import Path

from robustbench_keras import zoo
from robustbench_keras.data import load_dataset
from robustbench_keras.evaluation import clean_errors
from robustbench_keras.leaderboard import reports
from robustbench_keras.leaderboard.document import build_document
from robustbench_keras.leaderboard.store import load_leaderboard, update_leaderboard, write_leaderboard
from robustbench_keras.progress import Progress
from robustbench_keras.provenance import file_sha256
from robustbench_keras.scoring import score_models


def run_suite(suite, progress=True):
    """Runs every stage of `suite` and writes its outputs.

    Args:
        suite: a validated `Suite`.
        progress: show progress lines on stderr.

    Returns:
        `(written, stage_times)`: {output name: path} of what was written (leaderboard, tables, page,
        figures folder), and the wall time of each stage in seconds.
    """
    output = Path(suite.output)
    output.mkdir(parents=True, exist_ok=True)
    if (output / "leaderboard.json").exists():
        load_leaderboard(output / "leaderboard.json")  # refuse a corrupt leaderboard before any work
    dataset = load_dataset(suite.dataset, data_dir=suite.data_dir, progress=progress)
    models, entries = {}, {}
    start = time.perf_counter()
    bar = Progress("models", len(suite.models), unit="model", enabled=progress)
    for model_id in suite.models:
        models[model_id], entries[model_id] = prepare_zoo_model(model_id, dataset, suite, progress)
        bar.update(info=model_id)
    bar.close()
    stage_times = {"models_s": time.perf_counter() - start}
    results = score_models(suite, dataset, models, entries, output, progress=progress)
    document = build_document(suite, dataset, list(entries.values()), results.controls, results.table5)
    leaderboard_path = output / "leaderboard.json"
    document = publish(leaderboard_path, document)
    start = time.perf_counter()
    written = {"leaderboard": leaderboard_path, **reports.write_reports(document, output, results)}
    stage_times.update(results.stage_times, reports_s=time.perf_counter() - start)
    return written, stage_times


def publish(path, document):
    """Writes a run's document, keeping the submitted entries of the leaderboard already at `path`.

    An existing file that is corrupt or invalid is refused (LeaderboardError), never overwritten.
    """
    if not path.exists():
        write_leaderboard(path, document)
        return document

    def keep_submissions(previous):
        submitted = [entry for entry in previous["entries"] if entry["source"] == "submission"]
        return dict(document, entries=document["entries"] + submitted)

    return update_leaderboard(path, keep_submissions)


def prepare_zoo_model(model_id, dataset, suite, progress):
    """Trains or loads one zoo model; returns it with its leaderboard entry's provenance and clean errors."""
    spec = zoo.get(model_id)
    start = time.perf_counter()
    model = suite.load_model(model_id, dataset, progress=progress)
    checkpoint = suite.checkpoint_path(model_id, dataset)
    entry = {
        "id": model_id,
        "paper_name": spec.paper_name,
        "source": "zoo",
        "architecture": spec.architecture,
        "recipe": dataclasses.asdict(suite.recipe_for(model_id)),
        "checkpoint_sha256": file_sha256(checkpoint),
        "seed": suite.seed,
        "train_split": spec.train_split,
        "clean_errors": clean_errors(model, dataset),
        "timings": {"train_or_load_s": time.perf_counter() - start},
    }
    return model, entry
