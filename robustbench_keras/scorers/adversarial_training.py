"""Section 4.2 of Szegedy et al. 2014 (arXiv 1312.6199): each model beside a baseline trained without
adversarial examples — clean errors, minimal distortion, transfer both ways, training cost.

Nothing is attacked here: the distortions are min_distortion's records (the same examples and targets
for every model of a table), the transfer rows feed one model's successful adversarials to the other,
and the training time, the time spent attacking and the per-epoch history come from the model's cache
sidecar (`zoo.load_or_train`). Rates carry 95% percentile-bootstrap intervals; the distortion change is
the paired mean over the examples both attacks solved.
"""

import dataclasses
import json

import numpy as np

from robustbench_keras.paper import load_baselines
from robustbench_keras.scorers.cells import DASH, Comparison, Table, baselines_for, display_names, lookup
from robustbench_keras.statistics import bootstrap_ci, bootstrap_rate_ci

NAME = "adversarial_training"
PAPER_KEY = "section4_2"
RELATION_SIGNS = {"equal": "", "about": "~", "below": "< "}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Settings of the `adversarial_training` scorer.

    Attributes:
        baseline: the model every other model is compared with (a model of the suite, attacked on the
            same sample), the paper's weight-decay-only FC100-100-10 by default.
        num_resamples: bootstrap resamples of every confidence interval.
    """

    baseline: str = "fc100_100_10"
    num_resamples: int = 1000

    def __post_init__(self):
        if self.num_resamples < 1:
            raise ValueError(f"num_resamples: expected a positive integer, got {self.num_resamples}")


def run(settings, context):
    """Writes `sections["adversarial_training"]` for every scored model attacked on the baseline's sample
    (the suite checked that the baseline is one of its models)."""
    split = _split(context.entries[settings.baseline])
    x, y = context.samples[split]
    base_model, base_records = context.models[settings.baseline], context.records[settings.baseline]
    for model_id, model in context.scored_models().items():
        entry = context.entries[model_id]
        if _split(entry) != split:
            continue  # attacked on another sample (a P1/P2 model): nothing to pair
        records = context.records[model_id]
        entry.sections[NAME] = {
            "baseline": settings.baseline,
            "split": split,
            "errors": {name: rate_with_ci(entry.clean_errors[name], len(context.dataset.split(name)[1]),
                                          settings.num_resamples, context.suite.seed)
                       for name in ("train", "test")},
            "distortion_change": paired_change(base_records, records, settings.num_resamples, context.suite.seed),
            "transfer": {
                "from_baseline": transfer_rate(base_records, x, y, model, settings, context.suite.seed),
                "to_baseline": transfer_rate(records, x, y, base_model, settings, context.suite.seed),
            },
            "training": training_trace(context, entry),
        }


def _split(entry):
    return next(iter(entry.sections["min_distortion"]))


def rate_with_ci(rate, n, num_resamples, seed):
    """{"rate", "n", "ci95"} of a rate measured on n examples."""
    return {"rate": rate, "n": n, "ci95": list(bootstrap_rate_ci(round(rate * n), n, num_resamples, seed=seed))}


def paired_change(base_records, records, num_resamples, seed):
    """Minimal RMS distortion of a model minus its baseline's, example by example.

    Args:
        base_records, records: `AttackRecords` of the two models on the same examples and targets.

    Returns:
        {"n", "mean", "ci95", "ratio_of_means"} over the examples both attacks solved.

    Raises:
        ValueError: the records are not of the same examples and targets.
    """
    if len(base_records) != len(records) or not np.array_equal(base_records.target, records.target):
        raise ValueError("adversarial_training: the model and its baseline were not attacked with the same targets")
    both = base_records.success & records.success
    change = records.distortion_rms[both] - base_records.distortion_rms[both]
    if not change.size:
        return {"n": 0, "mean": None, "ci95": None, "ratio_of_means": None}
    return {"n": int(change.size), "mean": float(change.mean()),
            "ci95": list(bootstrap_ci(change, num_resamples=num_resamples, seed=seed)),
            "ratio_of_means": float(records.distortion_rms[both].mean() / base_records.distortion_rms[both].mean())}


def transfer_rate(records, x, y, model, settings, seed):
    """The error `model` makes on the successful adversarials of `records` (made on x, true labels y)."""
    from robustbench_keras.evaluation import error_rate

    success = np.asarray(records.success, dtype=bool)
    n = int(success.sum())
    rate = error_rate(model, records.x_adv[success], y[success]) if n else None
    if rate is None:
        return {"rate": None, "n": 0, "ci95": None}
    return rate_with_ci(rate, n, settings.num_resamples, seed)


def training_trace(context, entry):
    """{"train_time_s", "attack_time_s", "history"} from a zoo model's cache sidecar; None for a submission
    or a missing sidecar, and "history" None for a model cached before sidecars kept it."""
    if entry.source != "zoo":
        return None
    from robustbench_keras.zoo import cache

    path = cache.sidecar_path(context.suite.checkpoint_path(entry.id, context.dataset))
    if not path.is_file():
        return None
    info = json.loads(path.read_text())
    return {"train_time_s": info.get("train_time_s"), "attack_time_s": info.get("attack_time_s", 0.0),
            "history": info.get("history")}


def tables(document, baselines, settings):
    """The paper's Section 4.2 figures (~1.6 / ~1.3 / < 1.2% test error) beside ours, and what training on
    adversarial examples changed against the baseline."""
    paper = {row["model"]: row for row in (baselines or {}).get(PAPER_KEY, {}).get("rows", [])}
    names = display_names(document, baselines)
    rows = []
    for entry in document["entries"]:
        section = entry.get(NAME)
        if section is None:
            continue
        reference = paper.get(entry["id"], {})
        rows.append((
            names.get(entry["id"], entry["id"]),
            RELATION_SIGNS[reference["relation"]] + f"{100 * reference['test_error']:g}" if reference else DASH,
            Comparison(reference.get("test_error"), lookup(section, "errors", "test", "rate"), "percent"),
            _ci_percent(lookup(section, "errors", "test", "ci95")),
            _rate_text(lookup(section, "errors", "train")),
            _distortion_text(entry, section),
            _rate_text(lookup(section, "transfer", "from_baseline")),
            _rate_text(lookup(section, "transfer", "to_baseline")),
            _seconds(lookup(section, "training", "train_time_s")),
            _seconds(lookup(section, "training", "attack_time_s")),
        ))
    baseline = names.get(settings.baseline, settings.baseline)
    note = (f"Each model beside the baseline {baseline}, trained the same number of epochs. "
            "Paper (Section 4.2): about 1.6% test error with weight decay alone, about 1.3% with dropout, below "
            "1.2% with per-layer adversarial training; the paper cell compares with those numbers (1.6, 1.3, 1.2). "
            "Intervals: 95% bootstrap. Distortion: mean minimal RMS distortion (min_distortion), then the paired "
            "change against the baseline over the examples both attacks solved. Transfer: error on the successful "
            "adversarials of the other model. Times: training, of which attacking, in seconds on the run's machine.")
    header = ("Model", "Paper test error (%)", "Test error (%)", "Test error 95% CI (%)", "Train error (%) [95% CI]",
              "Min. distortion; change vs baseline [95% CI]", "Baseline's adversarials: error here (%)",
              "These adversarials: error on baseline (%)", "Training (s)", "Attacking (s)")
    title = "Section 4.2: training with adversarial examples"
    return [Table(NAME, title, note, header, tuple(rows), has_paper=baselines is not None)]


def _ci_percent(ci):
    return DASH if not ci else f"[{100 * ci[0]:.2f}, {100 * ci[1]:.2f}]"


def _rate_text(cell):
    if not cell or cell.get("rate") is None:
        return DASH
    return f"{100 * cell['rate']:.2f} {_ci_percent(cell['ci95'])} (n={cell['n']})"


def _distortion_text(entry, section):
    mean = lookup(entry, "min_distortion", section["split"], "mean")
    change = section["distortion_change"]
    text = DASH if mean is None else f"{mean:.4f}"
    if change["mean"] is None:
        return text
    low, high = change["ci95"]
    return f"{text}; {change['mean']:+.4f} [{low:+.4f}, {high:+.4f}] (n={change['n']})"


def _seconds(value):
    return DASH if value is None else f"{value:.0f}"


def figures(document, context):
    """Test error and pool distortion per epoch for every model with a recorded history."""
    from robustbench_keras.plots.training_curves import plot_training_curves

    names = display_names(document, baselines_for(document, load_baselines()))
    histories = {names.get(entry["id"], entry["id"]): lookup(entry, NAME, "training", "history")
                 for entry in document["entries"] if lookup(entry, NAME, "training", "history")}
    if not histories:
        return []
    return [("Section 4.2: test error and mean pool distortion per epoch", "adversarial_training_curves.png",
             plot_training_curves, (histories,))]
