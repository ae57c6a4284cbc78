"""Adversarial spheres (Gilmer et al. 2018, arXiv 1801.02774, Theorem 5.1 and its figure of d(E) against mu(E)).

For each model of a `dataset: spheres` suite: its error rate mu(E) on the inner sphere, on fresh points with a
Wilson CI (and exactly, by Imhof's formula, for the quadratic net); d(E), the mean distance from fresh points of
the inner sphere to their nearest error as the L-BFGS attack finds it in the suite's `attack.domain` (points
already misclassified count as distance 0, as in the paper); the Theorem 5.1 bound Phi^-1(1 - mu) / sqrt(d) and
the spherical cap's exact d(E) at that mu (the optimum); for the quadratic net the exact d(E) from the quadric
oracle and the attack's per-example ratio to it. Figures: d(E) against mu(E) with every model as a point, and a
2-D slice through a point, its nearest error and the origin showing each model's decision boundary.
"""

import dataclasses

import numpy as np

from robustbench_keras.attacks import LBFGSAttack, quadric_oracle
from robustbench_keras.attacks.domains import attack_in_domain
from robustbench_keras.data import spheres_theory
from robustbench_keras.evaluation import predict_labels
from robustbench_keras.progress import Progress
from robustbench_keras.scorers.cells import DASH, Table, display_names, lookup, scored_sections
from robustbench_keras.statistics import bootstrap_ci
from robustbench_keras.zoo import spheres_error, spheres_nets

NAME = "spheres"
TARGET_POLICY = "closest"  # two classes: the other one
ATTACK_STREAM = 11  # the attacked points' stream of the dataset's generator (training uses 10^9 + step)
PAPER_CLAIM = ("Gilmer et al. 2018: the trained networks' (mu(E), d(E)) lie close to the optimal trade-off of "
               "Theorem 5.1, i.e. a small error rate already puts an error near most points")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Settings of the `spheres` scorer.

    Attributes:
        num_error_points: fresh points per sphere on which mu(E) is counted (the issue asks >= 10^6).
        num_attacked: fresh points of the inner sphere whose nearest error the attack seeks.
        num_resamples: bootstrap resamples of the CI of d(E).
        slice_resolution: grid points per side of the 2-D slice figure.
    """

    num_error_points: int = 1_000_000
    num_attacked: int = 100
    num_resamples: int = 1000
    slice_resolution: int = 161

    def __post_init__(self):
        for name in ("num_error_points", "num_attacked", "num_resamples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {getattr(self, name)}")
        if self.slice_resolution < 8:
            raise ValueError(f"slice_resolution: expected an integer >= 8, got {self.slice_resolution}")


def nearest_error_distances(model, attack, x, y, seed=0, progress=True):
    """Distance from each point to its nearest error as the attack finds it; 0 where already misclassified.

    Returns:
        (distance float64 (n,) with NaN where the attack failed, records of the correctly classified
        rows with `index` the rows' positions in x).
    """
    correct = np.flatnonzero(predict_labels(model, x) == y)
    distance = np.zeros(len(x))
    records = attack_in_domain(attack, model, x[correct], y[correct], target_policy=TARGET_POLICY, seed=seed,
                               progress=progress)
    records.index = correct
    distance[correct] = np.where(records.success, records.distortion_l2, np.nan)
    return distance, records


def distance_summary(distance, num_resamples, seed):
    """{"mean", "median", "ci95", "n", "num_errors", "num_failed"} of d(E) over the points the attack settled."""
    found = distance[np.isfinite(distance)]
    return {"mean": float(np.mean(found)) if found.size else None,
            "median": float(np.median(found)) if found.size else None,
            "ci95": list(bootstrap_ci(found, num_resamples=num_resamples, seed=seed)) if found.size else None,
            "n": int(distance.size), "num_errors": int(np.sum(distance == 0)),
            "num_failed": int(np.sum(np.isnan(distance)))}


def ratio_summary(ratio):
    """The attack's distance over the exact one, as `min_distortion`'s `exact_optimum_ratio`."""
    return {"n": int(ratio.size), "mean": float(np.mean(ratio)), "median": float(np.median(ratio)),
            "p95": float(np.quantile(ratio, 0.95)), "max": float(np.max(ratio)),
            "share_within_2_percent": float(np.mean(ratio <= 1.02))}


def theory(mu, dimension):
    """{"bound", "cap"} at error rate mu on the unit sphere in R^d; None where mu is 0 (no error set)."""
    if not 0 < mu < 0.5:
        return {"bound": None, "cap": None}
    return {"bound": float(spheres_theory.theorem_bound(mu, dimension)),
            "cap": spheres_theory.cap_mean_distance(mu, dimension)}


def exact_section(model, spec, x, distance, domain):
    """The quadratic net's exact mu(E) (Imhof), exact d(E) (quadric oracle) and the attack's ratio to it;
    None for another model."""
    form = spheres_nets.quadratic_form(model)
    if form is None:
        return None
    matrix, b = form
    inner, outer = spheres_error.exact_error_rates(matrix, b, spec.radius)
    _, exact = quadric_oracle.nearest_errors(x, matrix, b, domain)
    exact[distance == 0] = 0.0  # already misclassified
    rows = np.flatnonzero(np.isfinite(distance) & (distance > 0) & np.isfinite(exact))
    return {"error_rate": {"inner": inner, "outer": outer},
            "distance_mean": float(np.mean(exact)) if np.isfinite(exact).all() else None,
            "exact_optimum_ratio": ratio_summary(distance[rows] / exact[rows]) if rows.size else None}


def run(settings, context):
    """Error rates, nearest-error distances and the trade-off per scored model; writes `sections["spheres"]`."""
    spec, seed = context.dataset.spec, context.suite.seed
    attack = LBFGSAttack(context.suite.attack)
    x, y = spec.sample(settings.num_attacked, stream=ATTACK_STREAM, label=0)
    context.samples[NAME] = (x, y)
    bar = Progress("spheres", len(context.scored), unit="model", enabled=context.progress)
    for model_id, model in context.scored_models().items():
        errors = spheres_error.estimated_error_rates(model, spec, count=settings.num_error_points,
                                                     show_progress=context.progress)
        distance, context.records[model_id] = nearest_error_distances(model, attack, x, y, seed, context.progress)
        summary = distance_summary(distance, settings.num_resamples, seed)
        bounds = theory(errors["inner"]["error"], spec.dimension)
        found = bounds["bound"] and summary["mean"] is not None
        section = {"dimension": spec.dimension, "domain": attack.settings.domain, "error_rate": errors,
                   "distance": summary, **bounds,
                   "ratio_to_bound": summary["mean"] / bounds["bound"] if found else None}
        exact = exact_section(model, spec, x, distance, attack.settings.domain)
        if exact is not None:
            section["exact"] = exact
        context.entries[model_id].sections[NAME] = section
        bar.update(info=model_id)
    bar.close()


def _margin(model, points):
    """The outer-class logit minus the inner-class logit at points (..., d)."""
    logits = model.predict(points.reshape(-1, points.shape[-1]).astype(np.float32), batch_size=4096, verbose=0)
    return (logits[:, 1] - logits[:, 0]).reshape(points.shape[:-1])


def _number(value, digits=3):
    return DASH if value is None else f"{value:.{digits}g}"


def _rate(rate):
    return f"{_number(rate['error'])} [{_number(rate['ci_low'])}, {_number(rate['ci_high'])}]"


def tables(document, baselines, settings):
    """One row per model: mu(E), d(E), the bound, the cap optimum, their ratio, the exact values."""
    names = display_names(document, baselines)
    rows = []
    for entry, section in scored_sections(document, NAME):
        distance, exact = section["distance"], section.get("exact") or {}
        low, high = distance["ci95"] or (None, None)
        ratio = exact.get("exact_optimum_ratio") or {}
        rows.append((
            names.get(entry["id"], entry["id"]), str(section["dimension"]), _rate(section["error_rate"]["inner"]),
            _number(lookup(exact, "error_rate", "inner")),
            f"{_number(distance['mean'])} [{_number(low)}, {_number(high)}]", _number(distance["median"]),
            _number(section["bound"]), _number(section["cap"]), _number(section["ratio_to_bound"]),
            _number(exact.get("distance_mean")),
            f"{ratio['mean']:.4f} (max {ratio['max']:.4f})" if ratio else DASH,
        ))
    domain = {section["domain"] for entry in document["entries"] if (section := lookup(entry, NAME))}
    note = (f"mu(E): share of {settings.num_error_points:,} fresh points of the inner sphere misclassified "
            f"(95% Wilson CI); exact: Imhof's formula (quadratic net). d(E): mean distance from "
            f"{settings.num_attacked} fresh inner-sphere points to the nearest error the L-BFGS attack finds "
            f"(domain: {', '.join(sorted(domain))}); points already misclassified count as distance 0, as in the "
            "paper; 95% bootstrap CI. Bound: Theorem 5.1, Phi^-1(1 - mu) / sqrt(d) at the measured mu; cap: the "
            "exact d(E) of a spherical cap of measure mu, the optimum. Exact d(E) and attack / exact: the quadric "
            f"oracle (quadratic net). Paper: {PAPER_CLAIM}.")
    header = ("Model", "d", "mu(E) inner [95% CI]", "mu(E) exact", "d(E) mean [95% CI]", "d(E) median",
              "Theorem 5.1 bound", "Cap optimum", "d(E) / bound", "Exact d(E)", "Attack / exact")
    return [Table(NAME, "Adversarial spheres (Gilmer et al. 2018): error rate against distance to the nearest error",
                  note, header, tuple(rows), has_paper=False)]


def figures(document, context):
    """The trade-off figure (from the document) and, in a run that has the models, one slice per model."""
    from robustbench_keras.plots import spheres_slice, spheres_tradeoff

    names = display_names(document, None)
    entries = [e for e in document["entries"] if lookup(e, NAME)]
    points = [(names[e["id"]], e[NAME]["error_rate"]["inner"]["error"], e[NAME]["distance"]["mean"]) for e in entries]
    points = [(name, mu, distance) for name, mu, distance in points if mu > 0 and (distance or 0) > 0]  # log axes
    result = []
    if points:
        result.append(("Adversarial spheres: d(E) against mu(E), the Theorem 5.1 bound and the spherical cap",
                       "spheres_tradeoff.png", spheres_tradeoff.plot_tradeoff,
                       (points, document["data_fingerprint"]["dimension"])))
    for entry in entries:
        model, records = context.models.get(entry["id"]), context.records.get(entry["id"])
        if model is None or records is None or not records.success.any():
            continue
        row = int(np.flatnonzero(records.success)[0])
        x = context.samples[NAME][0][records.index[row]]
        plane = spheres_slice.Plane.through(x, records.x_adv[row], context.dataset.spec.radius,
                                            context.suite.scorers[NAME].slice_resolution)
        margins = [_margin(model, points) for points in plane.grids()]
        result.append((f"{names[entry['id']]}: 2-D slice through a point, its nearest error and the origin",
                       f"slice_{entry['id']}.png", spheres_slice.plot_slice, (plane, margins, names[entry["id"]])))
    return result
