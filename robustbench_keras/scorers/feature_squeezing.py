"""Feature squeezing (Xu, Evans, Qi, NDSS 2018; arXiv 1704.01155) as a detector of the suite's adversarials.

For each model: the joint detector (bit depth and median filter by default, the paper's MNIST pair) is
calibrated on held-out legitimate examples so that `false_positive_rate` of them is flagged; its false-
positive rate is then measured on other legitimate examples, and its detection rate on the model's
successful L-BFGS adversarials (min_distortion's records) and on those of every other model (the
transfer rows' examples), with Wilson CIs, the ROC-AUC and an ROC curve. The legitimate examples
come from `legitimate_split` and never include an attacked image. An adaptive attack (L-BFGS against
classifier and detector together, `squeezing_adaptive.py`) says whether the detector survives an
adversary who knows it.
"""

import dataclasses
import hashlib

import numpy as np

from robustbench_keras.data.splits import SPLIT_NAMES
from robustbench_keras.defenses import detector
from robustbench_keras.defenses.squeezers import squeezers as make_squeezers
from robustbench_keras.progress import Progress
from robustbench_keras.scorers import squeezing_adaptive
from robustbench_keras.scorers.cells import (DASH, Comparison, Table, baselines_for, display_names, format_value,
                                             lookup, scored_sections)
from robustbench_keras.statistics import wilson_ci

NAME = "feature_squeezing"
PAPER_DETECTION_RATE = 0.982  # Xu et al. 2018: MNIST joint detector (1-bit, 2x2 median), all attacks, 5% FPR


@dataclasses.dataclass(frozen=True)
class Settings:
    """Settings of the `feature_squeezing` scorer.

    Attributes:
        bits: bit depth of the bit-depth squeezer (paper, MNIST: 1); 0 leaves it out.
        median_size: side of the median filter's window (paper, MNIST: 2); 0 leaves it out.
        false_positive_rate: share of the calibration examples the threshold flags (paper: 0.05).
        legitimate_split: split the legitimate examples are drawn from (attacked images left out).
        num_calibration: legitimate examples the threshold is set on.
        num_validation: other legitimate examples the false-positive rate is measured on.
        adaptive_num_examples: examples of the attacked sample the adaptive attack runs on; 0: none.
        adaptive_scale: logit units per unit of detector score in the adaptive objective.
    """

    bits: int = 1
    median_size: int = 2
    false_positive_rate: float = 0.05
    legitimate_split: str = "test"
    num_calibration: int = 1000
    num_validation: int = 1000
    adaptive_num_examples: int = 100
    adaptive_scale: float = 50.0

    def __post_init__(self):
        if self.bits < 0 or self.median_size < 0 or not (self.bits or self.median_size):
            raise ValueError("bits and median_size: expected non-negative integers, not both 0")
        if not 0 < self.false_positive_rate < 1:
            raise ValueError(f"false_positive_rate: expected a value in (0, 1), got {self.false_positive_rate}")
        if self.legitimate_split not in SPLIT_NAMES:
            raise ValueError(f"legitimate_split: expected one of {', '.join(SPLIT_NAMES)}, "
                             f"got '{self.legitimate_split}'")
        if self.num_calibration < 1 or self.num_validation < 1:
            raise ValueError("num_calibration and num_validation: expected positive integers")
        if self.adaptive_num_examples < 0 or self.adaptive_scale <= 0:
            raise ValueError("adaptive_num_examples: expected >= 0; adaptive_scale: expected > 0")

    def squeezers(self):
        """{name: function} of the configured squeezers."""
        return make_squeezers(self.bits, self.median_size)


def legitimate_sets(x, attacked, num_calibration, num_validation, seed):
    """Seeded disjoint calibration and validation sets of `x`, leaving out every image in `attacked`.

    Returns:
        (calibration images, validation images), float32.
    """
    attacked_hashes = {hashlib.sha256(image.tobytes()).digest() for image in np.asarray(attacked, np.float32)}
    keep = np.array([hashlib.sha256(image.tobytes()).digest() not in attacked_hashes
                     for image in np.asarray(x, np.float32)], dtype=bool)
    order = np.random.default_rng(seed).permutation(np.flatnonzero(keep))
    if len(order) < num_calibration + num_validation:
        raise ValueError(f"legitimate examples: {len(order)} available, {num_calibration + num_validation} asked")
    return x[order[:num_calibration]], x[order[num_calibration:num_calibration + num_validation]]


def rate_with_ci(flags):
    """{"value", "ci", "num_examples"} of a 0/1 array's mean, with its 95% Wilson CI (not degenerate at 0 or
    all flagged, unlike the bootstrap's)."""
    flags = np.asarray(flags, bool)
    if flags.size == 0:  # JSON has no NaN
        return {"value": None, "ci": None, "num_examples": 0}
    return {"value": float(flags.mean()), "ci": list(wilson_ci(int(flags.sum()), flags.size)),
            "num_examples": int(flags.size)}


def evaluate(model, settings, calibration, validation, adversarial):
    """The detector's calibration and detection statistics for one model.

    Args:
        model: Keras model returning logits.
        settings: `Settings`.
        calibration, validation: legitimate images, float32 (n, 28, 28).
        adversarial: successful adversarial images of this model, float32 (m, 28, 28).

    Returns:
        The section's JSON-able core: threshold, false_positive_rate, detection_rate, roc_auc, roc.
    """
    squeezers = settings.squeezers()
    threshold = detector.threshold_at_rate(detector.scores(model, calibration, squeezers),
                                           settings.false_positive_rate)
    legitimate = detector.scores(model, validation, squeezers)
    attacked = detector.scores(model, adversarial, squeezers)
    false_positive_rates, true_positive_rates = detector.roc_curve(legitimate, attacked)
    roc = {"false_positive_rates": false_positive_rates, "true_positive_rates": true_positive_rates}
    return {
        "squeezers": list(squeezers),
        "threshold": threshold,
        "false_positive_rate_target": settings.false_positive_rate,
        "false_positive_rate": rate_with_ci(legitimate > threshold),
        "detection_rate": rate_with_ci(attacked > threshold),
        "roc_auc": detector.roc_auc(legitimate, attacked) if attacked.size else None,
        "roc": roc if attacked.size else None,
    }


def run(settings, context):
    """Calibrates and evaluates the detector on each scored model; writes `sections["feature_squeezing"]`."""
    seed = context.suite.seed
    x, _ = context.dataset.split(settings.legitimate_split)
    attacked = np.concatenate([sample for sample, _ in context.samples.values()])
    calibration, validation = legitimate_sets(x, attacked, settings.num_calibration, settings.num_validation, seed)
    adversarials = {model_id: records.x_adv[records.success] for model_id, records in context.records.items()}
    bar = Progress("feature squeezing", len(context.scored), unit="model", enabled=context.progress)
    for model_id, model in context.scored_models().items():
        section = evaluate(model, settings, calibration, validation, adversarials[model_id])
        squeezers = settings.squeezers()
        section["transfer_detection_rates"] = {
            source: rate_with_ci(detector.scores(model, images, squeezers) > section["threshold"])
            for source, images in adversarials.items() if source != model_id
        }
        if settings.adaptive_num_examples:
            section["adaptive"] = squeezing_adaptive.evaluate(context, model_id, settings, section["threshold"])
        context.entries[model_id].sections[NAME] = section
        bar.update(info=model_id)
    bar.close()


def tables(document, baselines, settings):
    """One row per model: threshold, FPR, detection of its own and others' adversarials, adaptive attack."""
    names = display_names(document, baselines)
    rows = []
    for entry, section in scored_sections(document, NAME):
        transfer = [r["value"] for r in (section.get("transfer_detection_rates") or {}).values() if r["num_examples"]]
        adaptive = section.get("adaptive") or {}
        rows.append((
            names.get(entry["id"], entry["id"]),
            f"{section['threshold']:.3f}",
            _with_ci(section["false_positive_rate"]),
            Comparison(PAPER_DETECTION_RATE, section["detection_rate"]["value"], "percent"),
            _with_ci(section["detection_rate"]),
            DASH if section["roc_auc"] is None else f"{section['roc_auc']:.3f}",
            format_value(float(np.mean(transfer)) if transfer else None, "percent"),
            format_value(adaptive.get("plain_success_rate"), "percent"),
            format_value(adaptive.get("plain_distortion_rms_mean"), "distortion"),
            format_value(adaptive.get("success_rate"), "percent"),
            format_value(adaptive.get("distortion_rms_mean"), "distortion"),
        ))
    note = (f"Joint detector ({', '.join(settings.squeezers())}), threshold flagging "
            f"{settings.false_positive_rate:.0%} of {settings.num_calibration} held-out legitimate images; FPR "
            f"measured on {settings.num_validation} others. Detection: share of the model's successful L-BFGS "
            "adversarials flagged (paper: 98.2% over FGSM, BIM, C&W and JSMA; it never ran L-BFGS); 'others': "
            "mean over the other models' adversarials. Adaptive: L-BFGS against classifier and detector together "
            "(straight-through squeezers), beside the plain attack on the same examples and targets.")
    header = ("Model", "Threshold", "FPR (%) [95% CI]", "Detection (%)", "Detection (%) [95% CI]", "ROC-AUC",
              "Detection, others (%)", "Plain success (%)", "Plain distortion", "Adaptive success (%)",
              "Adaptive distortion")
    return [Table(NAME, "Feature squeezing (Xu et al. 2018): detection of L-BFGS adversarials", note, header,
                  tuple(rows), has_paper=True)]


def _with_ci(rate):
    if rate["value"] is None:
        return DASH
    low, high = rate["ci"]
    return f"{100 * rate['value']:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def figures(document, context):
    """The detector's ROC curve per model (legitimate validation images against its adversarials)."""
    from robustbench_keras.paper import load_baselines
    from robustbench_keras.plots import roc

    names = display_names(document, baselines_for(document, load_baselines()))
    curves = {names.get(e["id"], e["id"]): (e[NAME]["roc"], e[NAME]["roc_auc"])
              for e in document["entries"] if lookup(e, NAME, "roc")}
    if not curves:
        return []
    return [("Feature squeezing: ROC of the joint detector per model", "feature_squeezing_roc.png",
             roc.plot_roc_curves, (curves,))]
