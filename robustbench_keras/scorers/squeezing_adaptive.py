"""The adaptive attack on feature squeezing: L-BFGS against classifier and detector together.

The attack is the suite's own `LBFGSAttack`, unchanged, run on `detector.DetectedModel` (the classifier's
logits plus a "detected" logit above every class exactly when the detector fires; Carlini and Wagner
2017, arXiv 1705.07263), toward the same targets as the plain attack on the same examples. A success
is an image the classifier gives the target and the detector does not flag; each is checked again with
the detector outside the wrapper. Xu et al. 2018 (Section 5.3) expect an adaptive adversary to succeed.
"""

import numpy as np

from robustbench_keras.attacks import LBFGSAttack, run_attack
from robustbench_keras.defenses import detector


def evaluate(context, model_id, settings, threshold):
    """The adaptive attack on one model's first `settings.adaptive_num_examples` attacked examples.

    Returns:
        {"num_examples", "success_rate", "verified_success_rate", "distortion_rms_mean", "plain_success_rate",
        "plain_distortion_rms_mean", "distortion_ratio_median"} (the ratio over examples both attacks won with a perturbation).
    """
    model, records = context.models[model_id], context.records[model_id]
    split = next(iter(context.entries[model_id].sections["min_distortion"]))
    x, y = context.samples[split]
    count = min(settings.adaptive_num_examples, len(x))
    squeezers = settings.squeezers()
    wrapped = detector.DetectedModel(model, squeezers, threshold, settings.adaptive_scale)
    adaptive = run_attack(LBFGSAttack(context.suite.attack), wrapped, x[:count], y[:count], target_policy="given",
                          seed=context.suite.seed, targets=records.target[:count], progress=context.progress)
    return summarize(model, squeezers, threshold, adaptive, records, x[:count])


def summarize(model, squeezers, threshold, adaptive, plain, x):
    """Success and distortion of the adaptive records beside the plain ones (first `len(x)` rows)."""
    count = len(x)
    plain_success = np.asarray(plain.success[:count], bool)
    success = np.asarray(adaptive.success, bool)
    predictions = np.argmax(model.predict(adaptive.x_adv, batch_size=1024, verbose=0), axis=-1)
    undetected = detector.scores(model, adaptive.x_adv, squeezers) <= threshold
    verified = success & undetected & (predictions == adaptive.target)
    both = success & plain_success & (plain.distortion_rms[:count] > 0)
    ratio = adaptive.distortion_rms[both] / plain.distortion_rms[:count][both]
    return {
        "num_examples": int(count),
        "success_rate": float(success.mean()),
        "verified_success_rate": float(verified.mean()),
        "distortion_rms_mean": _mean(adaptive.distortion_rms[success]),
        "plain_success_rate": float(plain_success.mean()),
        "plain_distortion_rms_mean": _mean(plain.distortion_rms[:count][plain_success]),
        "distortion_ratio_median": float(np.median(ratio)) if ratio.size else None,
    }


def _mean(values):
    return float(np.mean(values)) if len(values) else None
