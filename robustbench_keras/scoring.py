"""Runs a suite's scorers over a set of trained models and fills their leaderboard entries.

Models are grouped like the paper's tables: Table 3 models (trained on P1/P2) form the Table 4
transfer group and are attacked on `table3_split`; all others (Table 1 models, the conv net,
submissions) form the Table 2 group, attacked on `table1_split`. Every model of a group is attacked on
the same seeded sample, so transfer rows and columns line up.
"""

import dataclasses
import time
from pathlib import Path

import keras

from robustbench_keras.attacks import LBFGSAttack
from robustbench_keras.errors import ModelError
from robustbench_keras.leaderboard.tables import transfer_table
from robustbench_keras.progress import Progress
from robustbench_keras.scorers import min_distortion, spectral, transfer, unit_semantics


@dataclasses.dataclass
class ScoringResults:
    """What the scorers produce beyond the per-model entries.

    Attributes:
        controls: transfer control rows: {"table2": [...], "table4": [...], "table4_magnified": [...]}.
        table5: spectral bounds of the Table 5 AlexNet, or None.
        samples: split -> (x, y) of the attacked sample.
        records: model id -> `AttackRecords` of its attack (same order as its split's sample).
        held_out_images: the images Property 1 ranked (its figures show them), or None.
        stage_times: wall time of each scorer, e.g. {"min_distortion_s": 301.2}.
    """

    controls: dict = dataclasses.field(default_factory=dict)
    table5: dict = None
    samples: dict = dataclasses.field(default_factory=dict)
    records: dict = dataclasses.field(default_factory=dict)
    held_out_images: object = None
    stage_times: dict = dataclasses.field(default_factory=dict)


def paper_table(entry):
    """The paper table listing a model's distortion: "table3" for the Table 4 group, else "table1"."""
    return "table3" if transfer_table(entry) == "table4" else "table1"


def score_models(suite, dataset, models, entries, output, progress=True, only=None):
    """Runs the suite's scorers in order, writing each model's sections into `entries`.

    Args:
        suite: the validated `Suite`.
        dataset: the loaded `Dataset`.
        models: {model id: keras model}.
        entries: {model id: leaderboard entry dict}, updated in place.
        output: the run's output folder (per-example records go under `records/`).
        progress: show progress lines.
        only: ids of the models to score in full (a submission); the others then only take part in
            the transfer tables, through their cached attack records, and Table 5 is skipped.

    Returns:
        `ScoringResults`.
    """
    scored = {model_id: models[model_id] for model_id in (only or models)}
    results = ScoringResults()
    settings = suite.scorers
    stages = {
        "min_distortion": lambda: _score_min_distortion(
            suite, dataset, models, entries, Path(output) / "records", results, progress),
        "transfer": lambda: _score_transfer(settings["transfer"], suite.seed, models, entries, results),
        "spectral": lambda: _score_spectral(
            settings["spectral"], scored, entries, results, progress, with_table5=only is None),
        "unit_semantics": lambda: _score_unit_semantics(
            settings["unit_semantics"], dataset, scored, entries, results, suite, progress),
    }
    for name in settings:
        start = time.perf_counter()
        stages[name]()
        results.stage_times[f"{name}_s"] = time.perf_counter() - start
    return results


def _score_min_distortion(suite, dataset, models, entries, records_dir, results, progress):
    md = suite.scorers["min_distortion"]
    attack = LBFGSAttack(**suite.attack)
    for model_id, model in models.items():
        split = md.split_for(paper_table(entries[model_id]))
        if split not in results.samples:
            x, y = dataset.split(split)
            indices = min_distortion.sample_indices(len(x), md.num_examples, suite.seed)
            results.samples[split] = (x[indices], y[indices])
        x, y = results.samples[split]
        start = time.perf_counter()
        records, summary = min_distortion.score(
            attack, model, x, y, target=md.target, seed=suite.seed, records_dir=records_dir,
            name=f"{model_id}-{split}", progress=progress, chunk_size=md.chunk_size,
            fingerprint=f"{entries[model_id]['checkpoint_sha256']}:{dataset.fingerprint['id']}",
        )
        results.records[model_id] = records
        entries[model_id]["min_distortion"] = {split: summary}
        entries[model_id]["timings"]["min_distortion_s"] = time.perf_counter() - start


def _score_transfer(settings, seed, models, entries, results):
    groups = {}
    for model_id in models:
        groups.setdefault(transfer_table(entries[model_id]), []).append(model_id)
    for table, model_ids in groups.items():
        group = {model_id: models[model_id] for model_id in model_ids}
        split = next(iter(entries[model_ids[0]]["min_distortion"]))
        x, y = results.samples[split]
        for model_id in model_ids:
            row = dict(transfer.adversarial_row(results.records[model_id], x, y, group), table=table)
            if table == "table4":
                row["magnified"] = transfer.magnified_row(
                    results.records[model_id], x, y, group, settings.magnify, settings.magnified_rms
                )
            entries[model_id]["transfer"] = row
        stddevs = settings.table4_noise_stddevs if table == "table4" else settings.table2_noise_stddevs
        results.controls[table] = [transfer.noise_row(x, y, group, s, seed) for s in stddevs]
        if table == "table4":
            results.controls["table4_magnified"] = [
                transfer.noise_row(x, y, group, settings.magnified_noise_stddev, seed)
            ]


def _score_spectral(settings, models, entries, results, progress, with_table5=True):
    selected = [model_id for model_id in models if not settings.models or model_id in settings.models]
    with_table5 = with_table5 and settings.alexnet
    bar = Progress("spectral bounds", len(selected) + int(with_table5), unit="model", enabled=progress)
    for model_id in selected:
        entries[model_id]["spectral"] = spectral.score(models[model_id], settings)
        bar.update(info=model_id)
    if with_table5:
        results.table5 = spectral.alexnet_table(settings)
        bar.update(info="alexnet")
    bar.close()


def _score_unit_semantics(settings, dataset, models, entries, results, suite, progress):
    x_test, y_test = dataset.split("test")
    reference_id = settings.reference_model
    reference = None
    if reference_id is not None:
        reference = models.get(reference_id) or suite.load_model(reference_id, dataset, progress=progress)
    bar = Progress("unit vs random directions", len(models), unit="model", enabled=progress)
    for model_id, model in models.items():
        try:
            if has_hidden_layer(model):
                entries[model_id]["unit_semantics"] = unit_semantics.score(
                    model, x_test, y_test, settings, reference_model=reference if model_id != reference_id else None
                )
        except ModelError as error:  # e.g. a submitted model whose last hidden layer cannot be found
            entries[model_id]["unit_semantics"] = {"error": str(error)}
        bar.update(info=model_id)
    bar.close()
    results.held_out_images = x_test[: settings.num_examples]


def has_hidden_layer(model):
    """Whether anything but reshaping stands between the input and the final Dense layer (FC10 has nothing)."""
    layer = model.get_layer(unit_semantics.find_layer(model))
    return bool(layer.weights) or not isinstance(layer, (keras.layers.Flatten, keras.layers.Reshape, keras.layers.InputLayer))
