"""The joint detector: score against a NumPy/SciPy reference, exact threshold, ROC-AUC against brute force,
detection on a case with a known answer, and the adaptive model's objective and straight-through gradient."""

import numpy as np
import pytest
import scipy.ndimage
import tensorflow as tf

from robustbench_keras.defenses import detector
from robustbench_keras.defenses.squeezers import squeezers


def reference_scores(model, x):
    """max(‖p(x) − p(bit1(x))‖₁, ‖p(x) − p(median2(x))‖₁) in NumPy, SciPy's median as EvadeML-Zoo."""
    kernel, bias = (w.astype(np.float64) for w in model.get_layer("logits").get_weights())

    def softmax(images):
        z = images.reshape(len(images), -1) @ kernel + bias
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    p = softmax(x)
    squeezed = (np.rint(x), scipy.ndimage.median_filter(x, size=(1, 2, 2), mode="reflect"))
    return np.max([np.abs(p - softmax(s)).sum(axis=1) for s in squeezed], axis=0)


def test_score_matches_numpy_reference(linear_model):
    x = np.random.default_rng(0).random((20, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(detector.scores(linear_model, x, squeezers(), batch_size=7),
                               reference_scores(linear_model, x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n, rate", [(1000, 0.05), (37, 0.1), (20, 0.5)])
def test_threshold_flags_the_asked_share_of_its_calibration_set_exactly(n, rate):
    calibration = np.random.default_rng(n).random(n)
    threshold = detector.threshold_at_rate(calibration, rate)
    assert int(np.sum(calibration > threshold)) == int(np.floor(rate * n))


def test_roc_auc_matches_brute_force_pair_count():
    rng = np.random.default_rng(1)
    negatives, positives = rng.integers(0, 6, 40) / 5, rng.integers(2, 9, 30) / 5  # with ties
    pairs = positives[:, None] - negatives[None, :]
    expected = np.mean((pairs > 0) + 0.5 * (pairs == 0))
    assert detector.roc_auc(negatives, positives) == pytest.approx(expected, abs=1e-12)


def test_detection_is_exact_where_squeezing_changes_nothing_for_legitimate_images(linear_model):
    # Constant black and white images are fixed by both squeezers: score 0. Constant grey 0.3 images
    # become black under 1-bit depth: score ‖p(0.3) − p(0)‖₁ > 0. So every grey image is detected.
    legitimate = np.concatenate([np.zeros((10, 6, 6)), np.ones((10, 6, 6))]).astype(np.float32)
    grey = np.full((5, 6, 6), 0.3, np.float32)
    legitimate_scores = detector.scores(linear_model, legitimate, squeezers())
    grey_scores = detector.scores(linear_model, grey, squeezers())
    np.testing.assert_allclose(legitimate_scores, 0, atol=1e-7)
    threshold = detector.threshold_at_rate(legitimate_scores, 0.05)
    assert np.all(grey_scores > threshold) and not np.any(legitimate_scores > threshold)
    assert detector.roc_auc(legitimate_scores, grey_scores) == 1.0


def test_detected_logit_exceeds_every_class_exactly_when_the_detector_fires(linear_model):
    x = np.random.default_rng(2).random((30, 6, 6)).astype(np.float32)
    scores = reference_scores(linear_model, x)
    threshold, scale = float(np.median(scores)), 20.0
    wrapped = np.asarray(detector.DetectedModel(linear_model, squeezers(), threshold, scale)(x))
    logits = np.asarray(linear_model(x))
    np.testing.assert_allclose(wrapped[:, :4], logits, rtol=1e-6)
    np.testing.assert_allclose(wrapped[:, 4], logits.max(axis=1) + scale * (scores - threshold), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(np.argmax(wrapped, axis=1) == 4, scores > threshold)


def test_straight_through_gradient_is_the_models_gradient_at_the_squeezed_image(linear_model):
    x = tf.constant(np.random.default_rng(3).random((3, 6, 6)).astype(np.float32))
    weights = tf.constant(np.random.default_rng(4).normal(size=(3, 4)).astype(np.float32))
    squeeze = squeezers()["median_2x2"]
    with tf.GradientTape() as tape:
        tape.watch(x)
        through = tf.reduce_sum(tf.nn.softmax(linear_model(detector.straight_through(squeeze, x))) * weights)
    squeezed = tf.constant(squeeze(x))
    with tf.GradientTape() as tape_at_squeezed:
        tape_at_squeezed.watch(squeezed)
        direct = tf.reduce_sum(tf.nn.softmax(linear_model(squeezed)) * weights)
    np.testing.assert_allclose(through.numpy(), direct.numpy(), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(through, x).numpy(), tape_at_squeezed.gradient(direct, squeezed).numpy(),
                               rtol=1e-5, atol=1e-7)
