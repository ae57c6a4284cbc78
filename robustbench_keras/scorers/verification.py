"""Exact verification at L∞ radii ε (Xiao et al. 2019, arXiv 1809.03008, Table 1; MIPVerify, arXiv 1711.07356).

For each model and ε, on the first `num_examples` test images: clean error, PGD error (40 steps of ε/10,
an upper bound on robust error), the verified robust accuracy (correct and proven robust by
`verification.milp.verify`) with a bootstrap CI, the share of examples whose solve timed out, the mean and
median solve time over the examples solved, and the mean number of unstable ReLUs per layer (interval
bounds, `verification.bounds`). Only the examples classified correctly that PGD does not break go to the
solver (PGD's example is a counterexample, checked by the forward pass). Per example the entry keeps the
status, solve time and number of binaries (None: not solved). Models with layers the verifier does not
support get `{"unsupported": message}`.
"""

import dataclasses

import numpy as np

from robustbench_keras.attacks.pgd import pgd_attack
from robustbench_keras.errors import ModelError, SuiteError
from robustbench_keras.progress import Progress
from robustbench_keras.scorers import brackets
from robustbench_keras.scorers.cells import (DASH, Comparison, Table, display_names, format_value,
                                             lookup, scored_sections)
from robustbench_keras.statistics import bootstrap_ci
from robustbench_keras.verification.bounds import interval_bounds, network_steps, relu_counts
from robustbench_keras.verification.milp import verify

NAME = "verification"
PGD_STEPS = 40  # Xiao et al.'s evaluation attack: 40 steps of ε/10 from a random start


@dataclasses.dataclass(frozen=True)
class Settings:
    """The suite section `verification:`.

    Attributes:
        models: ids of the models to verify; empty: every scored model.
        epsilons: the L∞ radii, each in (0, 1).
        num_examples: the first test images verified per model and ε.
        time_limit_s: solver time per example; beyond it the example counts as timed out (not verified).
        num_resamples: bootstrap resamples of the verified accuracy's 95% CI.
        bracket_num_examples: successful L-BFGS attacks (min_distortion's records, when that scorer ran)
            bracketed per model by certified lower bounds (`scorers/brackets.py`); 0: none.
        exact_max_relus: nets with at most this many ReLUs also get bounds on the minimal L∞ in the bracket
            (`verification.linf_search`).
        bracket_time_limit_s: the minimal-L∞ MILP's time limit per bracketed attack.
        bracket_relative_gap: the minimal L∞ counts as exact when its bounds are within this fraction.
    """

    models: tuple[str, ...] = ()
    epsilons: tuple[float, ...] = (0.1,)
    num_examples: int = 100
    time_limit_s: float = 60.0
    num_resamples: int = 1000
    bracket_num_examples: int = 20
    exact_max_relus: int = 200
    bracket_time_limit_s: float = 30.0
    bracket_relative_gap: float = 1e-3

    def __post_init__(self):
        if not self.epsilons or not all(0 < e < 1 for e in self.epsilons):
            raise SuiteError(f"verification.epsilons: expected numbers in (0, 1), got {list(self.epsilons)}")
        if min(self.num_examples, self.num_resamples) < 1 or self.time_limit_s <= 0:
            raise SuiteError("verification: num_examples, num_resamples and time_limit_s must be positive, got "
                             f"{self.num_examples}, {self.num_resamples}, {self.time_limit_s}")
        if min(self.bracket_num_examples, self.exact_max_relus) < 0:
            raise SuiteError("verification: bracket_num_examples and exact_max_relus must be ≥ 0, got "
                             f"{self.bracket_num_examples}, {self.exact_max_relus}")
        if self.bracket_time_limit_s <= 0 or not 0 < self.bracket_relative_gap < 1:
            raise SuiteError("verification: expected bracket_time_limit_s > 0 and bracket_relative_gap in (0, 1), got "
                             f"{self.bracket_time_limit_s}, {self.bracket_relative_gap}")


def evaluate(model, x, y, epsilon, settings, seed=0, progress=False):
    """One model at one ε: the section's row (see the module docstring).

    Args:
        model: a keras.Model of Dense/Conv2D/ReLU/Flatten/Reshape layers, logits out.
        x: float32 (N, 28, 28) in [0, 1]; y: int (N,) labels.
        epsilon: the L∞ radius.
        settings: the `verification:` section.
        seed: seeds the PGD starts and the CI's resampling.
        progress: one progress line over the examples.

    Raises:
        ModelError: a layer the verifier does not support.
    """
    steps = network_steps(model)
    correct = np.argmax(model.predict(x, verbose=0), axis=1) == y
    x_pgd = pgd_attack(model, x, y, epsilon, num_steps=PGD_STEPS, seed=seed)
    pgd_correct = np.argmax(model.predict(x_pgd, verbose=0), axis=1) == y
    counts = relu_counts(steps, interval_bounds(steps, x, epsilon))
    statuses, times, binaries = [], [], []
    with Progress(f"verifying {model.name} at ε={epsilon:g}", len(x), unit="example", enabled=progress) as bar:
        for i in range(len(x)):
            if not correct[i] or not pgd_correct[i]:  # PGD's example is a counterexample: nothing to solve
                statuses.append("misclassified" if not correct[i] else "counterexample")
                times.append(None)
                binaries.append(None)
            else:
                answer = verify(model, steps, x[i], int(y[i]), epsilon, settings.time_limit_s)
                statuses.append(answer.status)
                times.append(answer.time_s)
                binaries.append(answer.num_binaries)
            bar.update(1, info=statuses[-1])
    verified = np.array([s == "robust" for s in statuses], dtype=np.float64)
    solved = [t for t in times if t is not None]
    return {
        "epsilon": float(epsilon),
        "num_examples": len(x),
        "clean_error": float(1 - correct.mean()),
        "pgd_error": float(1 - pgd_correct.mean()),
        "verified_accuracy": float(verified.mean()),
        "verified_accuracy_ci": list(bootstrap_ci(verified, num_resamples=settings.num_resamples, seed=seed)),
        "timeout_share": float(np.mean([s == "timeout" for s in statuses])),
        "time_s_mean": float(np.mean(solved)) if solved else None,
        "time_s_median": float(np.median(solved)) if solved else None,
        "unstable_relus": {name: float(c["num_unstable"].mean()) for name, c in counts.items()},
        "statuses": statuses,
        "time_s": times,
        "num_binaries": binaries,
    }


def run(settings, context):
    """Verifies each selected model at each ε, and brackets its attacks; writes `sections["verification"]`."""
    x, y = context.dataset.split("test")
    x, y = x[: settings.num_examples], y[: settings.num_examples]
    selected = [m for m in context.scored if not settings.models or m in settings.models]
    for model_id in selected:
        model, sections = context.models[model_id], context.entries[model_id].sections
        try:
            steps = network_steps(model)
            section = {"time_limit_s": settings.time_limit_s,
                       "epsilons": [evaluate(model, x, y, e, settings, context.suite.seed, context.progress)
                                    for e in settings.epsilons]}
        except ModelError as error:
            steps, section = None, {"unsupported": str(error)}
        if settings.bracket_num_examples and model_id in context.records:
            sample = context.samples[next(iter(sections["min_distortion"]))][0]
            section["bracket"] = brackets.bracket(model, steps, sections.get("spectral"), sample,
                                                  context.records[model_id], settings.bracket_num_examples,
                                                  settings.exact_max_relus, settings.bracket_time_limit_s,
                                                  settings.bracket_relative_gap, context.suite.seed, context.progress)
        sections[NAME] = section


def speedup(document, model_id, epsilon):
    """Mean solve time of the model without RS (the id without "_rs") over that of `model_id`, or None."""
    times = {e["id"]: r["time_s_mean"] for e in document["entries"] for r in lookup(e, NAME, "epsilons") or []
             if r["epsilon"] == epsilon}
    if not model_id.endswith("_rs") or not times.get(model_id) or times.get(model_id[:-3]) is None:
        return None
    return times[model_id[:-3]] / times[model_id]


def tables(document, baselines, settings):
    """One row per model and ε: errors, verified accuracy beside Xiao et al.'s, timeouts, times, unstable ReLUs."""
    from robustbench_keras.paper import load_xiao2019

    paper = load_xiao2019()["mnist"]
    on_mnist = document["data_fingerprint"]["dataset"] == "mnist"
    names = display_names(document, baselines)
    rows = []
    for entry, section in scored_sections(document, NAME):
        name = names.get(entry["id"], entry["id"])
        bracket = _bracket_text(section.get("bracket"))
        if "unsupported" in section:
            rows.append((name, DASH, DASH, DASH, Comparison(None, None, "percent"), DASH, DASH, DASH, DASH, DASH,
                         section["unsupported"], *bracket))
            continue
        for row in section["epsilons"]:
            is_paper = on_mnist and entry["id"] == paper["model"] and row["epsilon"] == paper["epsilon"]
            low, high = row["verified_accuracy_ci"]
            ratio = speedup(document, entry["id"], row["epsilon"])
            rows.append((
                name, f"{row['epsilon']:g}", format_value(row["clean_error"], "percent"),
                format_value(row["pgd_error"], "percent"),
                Comparison(paper["verified_accuracy"] if is_paper else None, row["verified_accuracy"], "percent"),
                f"[{100 * low:.1f}, {100 * high:.1f}]", format_value(row["timeout_share"], "percent"),
                _seconds(row["time_s_mean"]), _seconds(row["time_s_median"]),
                DASH if ratio is None else f"{ratio:.1f}×",
                ", ".join(f"{layer} {n:.1f}" for layer, n in row["unstable_relus"].items()), *bracket,
            ))
    note = (f"First {settings.num_examples} test images, solver limit {settings.time_limit_s:g} s per image "
            "(HiGHS MILP, big-M constants from CROWN ∩ interval bounds). Verified: correct and proven robust in "
            f"the L∞ ball (timeouts count as not verified); PGD: {PGD_STEPS} steps of ε/10. Times over the images "
            "solved (correct, not broken by PGD). "
            f"Speed-up: mean time of the model without RS over the model's (paper: {paper['speedup'][0]}–"
            f"{paper['speedup'][1]}×). Paper: Xiao et al. 2019, conv net with PGD + L1 + RS at "
            f"ε = {paper['epsilon']}. "
            "Bracket: the L-BFGS attack's L2 over a certified lower bound (Lipschitz margin bound, or the certified "
            "lower bound on the minimal L∞ for small nets), median / p90; exact: the share of attacks whose minimal "
            f"L∞ was found (bounds within {settings.bracket_relative_gap:g}, MILP limit "
            f"{settings.bracket_time_limit_s:g} s); attack L∞ ÷ exact minimal L∞, median / p90.")
    header = ("Model", "ε", "Clean error (%)", "PGD error (%)", "Verified accuracy (%)", "95% CI", "Timed out (%)",
              "Mean time (s)", "Median time (s)", "Speed-up", "Unstable ReLUs per layer (interval bounds)",
              "Bracket width", "Exact L∞ (%)", "Attack L∞ ÷ exact")
    if not rows:
        return []
    return [Table(NAME, "Exact verification (Xiao et al. 2019, Table 1): verified robust accuracy", note, header,
                  tuple(rows), has_paper=on_mnist)]


def _bracket_text(bracket):
    def pair(a, b):
        return DASH if a is None else f"{a:.1f} / {b:.1f}"

    if not bracket:
        return DASH, DASH, DASH
    share = bracket.get("exact_share")
    return (pair(bracket["width_median"], bracket["width_p90"]), DASH if share is None else f"{100 * share:.0f}",
            pair(bracket["linf_ratio_median"], bracket["linf_ratio_p90"]))


def _seconds(value):
    return DASH if value is None else f"{value:.2f}"


def figures(document, context):
    """Solve time per example, sorted, per model and ε (models with and without RS side by side)."""
    from robustbench_keras.plots import verification_times

    names = display_names(document, None)
    curves = {}
    for entry in document["entries"]:
        for row in lookup(entry, NAME, "epsilons") or []:
            label = f"{names.get(entry['id'], entry['id'])}, ε={row['epsilon']:g}"
            curves[label] = ([t for t in row["time_s"] if t is not None],
                             [s == "timeout" for s, t in zip(row["statuses"], row["time_s"]) if t is not None])
    if not curves:
        return []
    return [("Exact verification: solve time per example (sorted), with and without RS", "verification_times.png",
             verification_times.plot_verification_times, (curves,))]
