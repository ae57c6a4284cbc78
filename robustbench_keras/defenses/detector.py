"""Feature squeezing's joint detector (Xu, Evans, Qi, NDSS 2018, Section 5; arXiv 1704.01155).

The score of an input is the largest L1 distance between the model's softmax output on the input and
on each squeezed version of it; an input scoring above the threshold is flagged as adversarial. The
threshold is set on legitimate examples so that a chosen share of them is flagged (the paper: 5%).

`DetectedModel` is the adaptive adversary's view (Carlini and Wagner 2017, "Adversarial examples are not
easily detected", arXiv 1705.07263): the classifier's logits plus one "detected" logit that exceeds
every class exactly when the detector fires, so any targeted attack on it must also stay undetected.
The squeezers are not differentiable (rounding, sorting); their gradient is passed straight through
(`x + stop_gradient(squeeze(x) − x)`: the forward value is the squeezed image, the gradient the identity).
"""

import numpy as np

from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's silenced import)


def straight_through(squeeze, x):
    """`squeeze(x)` in the forward pass, the identity's gradient in the backward pass."""
    return x + tf.stop_gradient(squeeze(x) - x)


def joint_score(model, x, squeezers):
    """The detector score of each input as a tensor: max over squeezers of ‖softmax(f(x)) − softmax(f(s(x)))‖₁.

    Args:
        model: Keras model returning logits (batch, classes).
        x: float32 (batch, height, width) in [0, 1], a tensor or array.
        squeezers: {name: function of x}, e.g. `squeezers.squeezers()`.
    """
    x = tf.convert_to_tensor(x, tf.float32)
    probabilities = tf.nn.softmax(model(x))
    distances = [tf.reduce_sum(tf.abs(probabilities - tf.nn.softmax(model(straight_through(s, x)))), axis=-1)
                 for s in squeezers.values()]
    return tf.reduce_max(tf.stack(distances, axis=-1), axis=-1)


def scores(model, x, squeezers, batch_size=512):
    """Detector scores of `x` as float64 (n,), computed in batches."""
    x = np.asarray(x, np.float32)
    parts = [joint_score(model, x[i:i + batch_size], squeezers).numpy() for i in range(0, len(x), batch_size)]
    return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)


def threshold_at_rate(legitimate_scores, false_positive_rate):
    """The threshold flagging (score > threshold) floor(rate · n) of the `n` calibration scores.

    With distinct scores exactly that many are flagged: the threshold is the (k + 1)-th largest score,
    k = floor(rate · n). Ties at the threshold can only flag fewer.
    """
    ranked = np.sort(np.asarray(legitimate_scores, np.float64))[::-1]
    if ranked.size == 0:
        raise ValueError("threshold_at_rate: no calibration scores")
    flagged = int(np.floor(false_positive_rate * ranked.size + 1e-9))
    return float(ranked[min(flagged, ranked.size - 1)])


def roc_auc(negative_scores, positive_scores):
    """Area under the ROC curve: P(positive > negative) + ½ P(tie) (the Mann-Whitney U statistic)."""
    negatives, positives = np.asarray(negative_scores, np.float64), np.asarray(positive_scores, np.float64)
    if negatives.size == 0 or positives.size == 0:
        return float("nan")
    ranked = np.sort(negatives)
    below = np.searchsorted(ranked, positives, side="left")
    not_above = np.searchsorted(ranked, positives, side="right")
    return float(np.mean(below + 0.5 * (not_above - below)) / negatives.size)


def roc_curve(negative_scores, positive_scores, num_points=101):
    """(false-positive rates, true-positive rates) at `num_points` thresholds spanning all scores."""
    negatives, positives = np.asarray(negative_scores, np.float64), np.asarray(positive_scores, np.float64)
    every = np.concatenate([negatives, positives])
    thresholds = np.quantile(every, np.linspace(1.0, 0.0, num_points)) if every.size else np.zeros(0)
    thresholds = np.concatenate([[np.inf], thresholds, [-np.inf]])
    rate = lambda values: [float(np.mean(values > t)) if values.size else float("nan") for t in thresholds]
    return rate(negatives), rate(positives)


class DetectedModel(keras.Model):
    """Classifier and detector as one model: logits (batch, classes + 1), the last one "detected".

    The extra logit is max_j z_j + scale · (score − threshold): above every class logit exactly when
    the score exceeds the threshold, so "predicts target t" means "classified t and not flagged".

    Args:
        classifier: Keras model returning logits (batch, classes).
        squeezers: {name: function of x}.
        threshold: the detector's threshold.
        scale: logit units per unit of score, how hard the objective pushes the score down.
    """

    def __init__(self, classifier, squeezers, threshold, scale=50.0, **kwargs):
        super().__init__(**kwargs)
        self.classifier, self.squeezers = classifier, dict(squeezers)
        self.threshold, self.scale = float(threshold), float(scale)

    def call(self, x):
        logits = self.classifier(x)
        score = joint_score(self.classifier, x, self.squeezers)
        detected = tf.reduce_max(logits, axis=-1) + self.scale * (score - self.threshold)
        return tf.concat([logits, detected[:, None]], axis=-1)
