"""The zoo models of a suite, trained or loaded from the cache, each with its leaderboard entry."""

import dataclasses
import time

from robustbench_keras import zoo
from robustbench_keras.evaluation import clean_errors
from robustbench_keras.leaderboard.entries import Entry
from robustbench_keras.progress import Progress
from robustbench_keras.provenance import file_sha256


def prepare_zoo_models(suite, dataset, progress=True):
    """Trains or loads every model of `suite`; returns ({id: model}, {id: Entry}) in suite order.

    The stage's ETA weighs each model by its training cost (a cached model costs a hundredth of the
    cheapest training), so it holds after a cheap linear model.
    """
    models, entries = {}, {}
    costs = [zoo.training_cost(model_id, suite.recipe_for(model_id)) for model_id in suite.models]
    weights = [cost if not suite.checkpoint_path(model_id, dataset).exists() else min(costs) / 100
               for model_id, cost in zip(suite.models, costs)]
    bar = Progress("models", len(suite.models), unit="model", enabled=progress, weights=weights)
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
