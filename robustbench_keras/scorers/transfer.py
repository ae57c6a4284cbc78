"""Paper Tables 2 and 4: the error adversarial examples made for one model cause on the others.

Error = fraction of fed examples whose prediction differs from the true label. Each row feeds the
successful adversarial examples the attack made for one model (so the diagonal is 100%) to every model
of its table, with a 95% Wilson interval per cell (the rows' errors are binomial counts). Control rows add
Gaussian noise of a stated per-pixel stddev to the same clean sample.
Table 4's "magnified" block rescales each perturbation: by default to per-pixel RMS 0.1, the stddev the
paper quotes; `magnify: literal` applies the paper's formula x + 0.1·(x'−x)/‖x'−x‖₂ instead (per-pixel
RMS 0.1/28 ≈ 0.0036), which disagrees with its own stated stddev. Noise and magnified inputs are not
clipped to [0, 1], so their per-pixel RMS is exactly the stated value; results record both choices.
"""

import dataclasses

import numpy as np

from robustbench_keras.attacks.distances import per_pixel_rms
from robustbench_keras.evaluation import predict_labels
from robustbench_keras.executors import resolve_model, resolve_value
from robustbench_keras.scorers.cells import baselines_for, display_names
from robustbench_keras.scorers.min_distortion import paper_table
from robustbench_keras.scorers.transfer_tables import NAME, matrix, tables  # noqa: F401 (tables: the scorer contract)
from robustbench_keras.statistics import wilson_ci

MAGNIFY_MODES = ("rms", "literal")
# (table key, magnified block, figure title) of each transfer matrix.
MATRICES = (("table2", False, "Table 2"), ("table4", False, "Table 4"), ("table4", True, "Table 4, magnified"))


@dataclasses.dataclass(frozen=True)
class Settings:
    """Settings of the `transfer` scorer.

    Attributes:
        table2_noise_stddevs: stddevs of Table 2's Gaussian control rows (paper: 0.1 and 0.3).
        table4_noise_stddevs: stddevs of Table 4's control rows (paper: 0.06).
        magnify: "rms" rescales each perturbation to per-pixel RMS `magnified_rms`; "literal" applies
            x + magnified_rms·(x'−x)/‖x'−x‖₂ as printed in the paper.
        magnified_rms: the magnified perturbation size (paper: 0.1).
        magnified_noise_stddev: stddev of the control row of the magnified block (paper: 0.1).
    """

    table2_noise_stddevs: tuple = (0.1, 0.3)
    table4_noise_stddevs: tuple = (0.06,)
    magnify: str = "rms"
    magnified_rms: float = 0.1
    magnified_noise_stddev: float = 0.1

    def __post_init__(self):
        if self.magnify not in MAGNIFY_MODES:
            raise ValueError(f"magnify: expected one of {', '.join(MAGNIFY_MODES)}, got '{self.magnify}'")
        stddevs = (*self.table2_noise_stddevs, *self.table4_noise_stddevs, self.magnified_noise_stddev)
        if any(s <= 0 for s in stddevs) or self.magnified_rms <= 0:
            raise ValueError("noise stddevs and magnified_rms must be positive")


def run(settings, context):
    """A transfer row per model of each table, and the table's Gaussian-noise control rows.

    Each row feeds the model's successful adversarials (min_distortion's records) to every model of
    its table; the rows go to `sections["transfer"]`, the control rows to the document's "controls".
    The evaluations are units of work, one per (table, model fed): the model's error on every input
    of its table, shipped once per table.
    """
    groups = {}
    for model_id, entry in context.entries.items():
        if model_id in context.models:
            table = "table4" if paper_table(entry.train_split) == "table3" else "table2"
            groups.setdefault(table, []).append(model_id)
    samples = {table: context.samples[next(iter(context.entries[model_ids[0]].sections["min_distortion"]))]
               for table, model_ids in groups.items()}
    seed = context.suite.seed
    units, labels = [], []
    for table, model_ids in groups.items():
        feeds = context.executor.share(table_feeds(table, model_ids, context.records, *samples[table], settings, seed))
        units += [(context.executor.share_model(context.models[model_id]), feeds) for model_id in model_ids]
        labels += [f"{model_id} ({table})" for model_id in model_ids]
    rates = iter(context.executor.map("transfer evaluations", evaluate_unit, units, labels=labels))
    controls = context.document_sections.setdefault("controls", {})
    for table, model_ids in groups.items():
        x, by_model = samples[table][0], {model_id: next(rates) for model_id in model_ids}

        def errors_on(key):
            return {model_id: by_model[model_id][key] for model_id in model_ids}

        for model_id in model_ids:
            records = context.records[model_id]
            row = dict(adversarial_row(records, x, errors_on(("adversarial", model_id))), table=table)
            if table == "table4":
                row["magnified"] = magnified_row(records, x, settings.magnify, settings.magnified_rms,
                                                 errors_on(("magnified", model_id)))
            context.entries[model_id].sections[NAME] = row
        controls[table] = [noise_row(x, s, seed, errors_on(("noise", s))) for s in _noise_stddevs(table, settings)[0]]
        if table == "table4":
            stddev = settings.magnified_noise_stddev
            controls["table4_magnified"] = [noise_row(x, stddev, seed, errors_on(("noise", stddev)))]


def _noise_stddevs(table, settings):
    """(stddevs of the table's control rows, those of its magnified block's)."""
    if table == "table4":
        return settings.table4_noise_stddevs, (settings.magnified_noise_stddev,)
    return settings.table2_noise_stddevs, ()


def table_feeds(table, model_ids, records, x, y, settings, seed):
    """What the rows of one table feed each of its models: {key: (inputs, true labels)}, keyed
    ("adversarial", model id), ("magnified", model id) (Table 4) and ("noise", stddev)."""
    feeds = {}
    for model_id in model_ids:
        success = np.asarray(records[model_id].success, dtype=bool)
        x_adv = records[model_id].x_adv[success]
        feeds[("adversarial", model_id)] = (x_adv, y[success])
        if table == "table4":
            feeds[("magnified", model_id)] = (magnify(x[success], x_adv, settings.magnify, settings.magnified_rms),
                                              y[success])
    for stddev in sum(_noise_stddevs(table, settings), ()):
        feeds[("noise", stddev)] = (add_gaussian_noise(x, stddev, seed), y)
    return feeds


def evaluate_unit(unit):
    """One unit of work: one model's error on every input of one table, {feed key: rate} (NaN for none).

    `unit` is (model handle, feeds handle); the inputs go through the model in one prediction.
    """
    handle, feeds = unit
    feeds = resolve_value(feeds)
    inputs = [x for x, _ in feeds.values()]
    predicted = predict_labels(resolve_model(handle), np.concatenate(inputs)) if sum(map(len, inputs)) else []
    rates, start = {}, 0
    for key, (x, y) in feeds.items():
        rates[key] = float(np.mean(predicted[start:start + len(x)] != y)) if len(x) else float("nan")
        start += len(x)
    return rates


def mean_rms(perturbations):
    """Mean per-pixel RMS of a batch of perturbations; NaN for an empty batch."""
    return float(per_pixel_rms(perturbations).mean()) if len(perturbations) else float("nan")


def adversarial_row(records, x, errors_on):
    """A transfer row: the successful adversarials of one model, with every model's error on them.

    Args:
        records: `AttackRecords` of the attack on `x` (same order).
        x: the clean examples attacked.
        errors_on: {model_id: rate} of each model on the successful adversarials (`evaluate_unit`).

    Returns:
        {"errors_on": {model_id: rate}, "errors_on_ci": {model_id: [low, high]} (none without examples),
        "num_examples": int, "distortion_rms_mean": float}.
    """
    success = np.asarray(records.success, dtype=bool)
    return {
        "errors_on": errors_on,
        "errors_on_ci": error_cis(errors_on, int(success.sum())),
        "num_examples": int(success.sum()),
        "distortion_rms_mean": mean_rms(records.x_adv[success] - x[success]),
    }


def error_cis(errors_on, num_examples):
    """{model_id: [low, high]}: the 95% Wilson interval of each error rate over `num_examples` inputs."""
    if not num_examples:
        return {}
    return {model_id: list(wilson_ci(round(rate * num_examples), num_examples)) for model_id, rate in errors_on.items()}


def magnify(x, x_adv, mode="rms", size=0.1):
    """Rescales each perturbation x_adv − x: to per-pixel RMS `size` ("rms") or to L2 norm `size` ("literal")."""
    perturbation = (x_adv - x).astype(np.float64)
    flat = perturbation.reshape(len(x), -1)
    l2 = np.linalg.norm(flat, axis=1)
    target = size * np.sqrt(flat.shape[1]) if mode == "rms" else np.full(len(x), size)
    scale = np.divide(target, l2, out=np.zeros_like(l2), where=l2 > 0)
    return (x + (flat * scale[:, None]).reshape(x.shape)).astype(np.float32)


def magnified_row(records, x, mode, size, errors_on):
    """A row of Table 4's magnified block: the successful perturbations rescaled, with every model's error."""
    success = np.asarray(records.success, dtype=bool)
    x_magnified = magnify(x[success], records.x_adv[success], mode=mode, size=size)
    return {"mode": mode, "errors_on": errors_on, "distortion_rms_mean": mean_rms(x_magnified - x[success])}


def add_gaussian_noise(x, stddev, seed):
    """x plus seeded N(0, stddev²) noise per pixel, not clipped (so the noise has exactly that stddev)."""
    rng = np.random.default_rng(seed)
    return (x + rng.normal(0.0, stddev, size=x.shape)).astype(np.float32)


def noise_row(x, stddev, seed, errors_on):
    """A control row: Gaussian noise of `stddev` added to the clean sample, with every model's error."""
    return {
        "label": f"Gaussian noise, stddev {stddev:g}",
        "stddev": float(stddev),
        "errors_on": errors_on,
        "distortion_rms": mean_rms(add_gaussian_noise(x, stddev, seed) - x),
    }


def figures(document, context):
    """A heatmap per transfer matrix, models named as in the tables."""
    from robustbench_keras.plots import figures as plots
    from robustbench_keras.paper import load_baselines

    names = display_names(document, baselines_for(document, load_baselines()))
    drawn = []
    for table, magnified, title in MATRICES:
        errors, row_labels, column_labels = matrix(document, table, magnified, names)
        if column_labels:
            drawn.append((f"{title}: error (%) of adversarial examples across models",
                          f"transfer_{table}{'_magnified' if magnified else ''}.png", plots.plot_transfer_matrix,
                          (errors, row_labels, column_labels, title)))
    return drawn
