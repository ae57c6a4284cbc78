"""The zoo models of a suite, trained (one unit of work per missing model) or loaded from the cache, each
with its leaderboard entry."""

import dataclasses
import time

from robustbench_keras import zoo
from robustbench_keras.evaluation import clean_errors
from robustbench_keras.executors import InProcessExecutor, resolve_dataset, resolve_model
from robustbench_keras.executors.shipping import model_bytes
from robustbench_keras.leaderboard.entries import Entry
from robustbench_keras.provenance import file_sha256
from robustbench_keras.zoo import cache


def prepare_zoo_models(suite, dataset, progress=True, executor=None):
    """Trains the missing models of `suite`, loads the others; returns ({id: model}, {id: Entry}) in suite
    order, each entry with the model's clean errors (a second stage, one unit per model).

    The missing models are trained as one executor stage, one unit per model, keyed as the cache is
    (recipe, data fingerprint id, seed). A worker returns the model's `.keras` bytes and sidecar; the
    driver writes them into the cache as each arrives (so an interrupted run keeps every model trained)
    and loads every model from the cache, whichever executor trained it.

    Args:
        suite: the validated `Suite` (models, seed, recipes, cache folder).
        dataset: the loaded `Dataset`.
        progress: show progress lines.
        executor: where the training units run; None: in this process.
    """
    executor = executor or InProcessExecutor(progress)
    models, seconds = {}, {}
    for model_id in suite.models:
        start = time.perf_counter()
        models[model_id] = cache.load_intact(suite.checkpoint_path(model_id, dataset))
        seconds[model_id] = time.perf_counter() - start
    missing = [model_id for model_id, model in models.items() if model is None]
    handle = executor.share_dataset(dataset)
    if missing:
        units = [(model_id, suite.recipe_for(model_id), suite.seed, handle, executor.worker_progress)
                 for model_id in missing]

        def save(position, result):
            model_id, (data, info) = missing[position], result
            path = suite.checkpoint_path(model_id, dataset)
            cache.save_bytes(data, path, info)
            models[model_id] = cache.load(path)

        executor.map("training models", train_unit, units, on_done=save, labels=missing,
                     weights=[zoo.training_cost(model_id, suite.recipe_for(model_id)) for model_id in missing])
        seconds.update((timing.unit, timing.seconds) for timing in executor.timings[-len(missing):])
    ids = list(suite.models)
    errors = executor.map("clean errors", clean_errors_unit,
                          [(executor.share_model(models[model_id]), handle) for model_id in ids], labels=ids)
    entries = {model_id: zoo_entry(model_id, dataset, suite, seconds[model_id], errors[position])
               for position, model_id in enumerate(ids)}
    return models, entries


def train_unit(unit):
    """One unit of work: trains one zoo model; returns its `.keras` bytes and its cache sidecar.

    `unit` is (model id, recipe, seed, dataset handle, show progress): what the model's cache key is
    made of. A retried unit gives the same weights (seeded training); only Keras's `date_saved` in the
    bytes differs.
    """
    model_id, recipe, seed, handle, progress = unit
    model, info = zoo.train(model_id, resolve_dataset(handle), seed, progress, recipe)
    return model_bytes(model)[0], info


def clean_errors_unit(unit):
    """One unit of work: one model's clean error on every split; `unit` is (model handle, dataset handle)."""
    model, dataset = unit
    return clean_errors(resolve_model(model), resolve_dataset(dataset))


def zoo_entry(model_id, dataset, suite, train_or_load_s, errors):
    """The entry of one trained zoo model: provenance and its clean errors `errors` ({split: error rate})."""
    spec = zoo.get(model_id)
    return Entry(
        id=model_id, paper_name=spec.paper_name, source="zoo", architecture=spec.architecture,
        recipe=dataclasses.asdict(suite.recipe_for(model_id)),
        checkpoint_sha256=file_sha256(suite.checkpoint_path(model_id, dataset)), seed=suite.seed,
        train_split=spec.train_split, clean_errors=errors, timings={"train_or_load_s": train_or_load_s},
    )
