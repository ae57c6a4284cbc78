"""The zoo models of a suite, trained or loaded from the cache, each with its leaderboard entry."""

import dataclasses
import time

from robustbench_keras import zoo
from robustbench_keras.evaluation import clean_errors
from robustbench_keras.leaderboard.entries import Entry
from robustbench_keras.progress import Progress
from robustbench_keras.provenance import file_sha256


def prepare_zoo_models(suite, dataset, progress=True):
    """Trains or loads every model of `suite`; returns ({id: model}, {id: Entry}) in suite order."""
    models, entries = {}, {}
    bar = Progress("models", len(suite.models), unit="model", enabled=progress)
    for model_id in suite.models:
        models[model_id], entries[model_id] = prepare_zoo_model(model_id, dataset, suite, progress)
        bar.update(info=model_id)
    bar.close()
    return models, entries


def prepare_zoo_model(model_id, dataset, suite, progress=True):
    """Trains or loads one zoo model; returns it with its entry (provenance and clean errors)."""
    spec = zoo.get(model_id)
    start = time.perf_counter()
    model = suite.load_model(model_id, dataset, progress=progress)
    entry = Entry(
        id=model_id, paper_name=spec.paper_name, source="zoo", architecture=spec.architecture,
        recipe=dataclasses.asdict(suite.recipe_for(model_id)),
        checkpoint_sha256=file_sha256(suite.checkpoint_path(model_id, dataset)), seed=suite.seed,
        train_split=spec.train_split, clean_errors=clean_errors(model, dataset),
        timings={"train_or_load_s": time.perf_counter() - start},
    )
    return model, entry
