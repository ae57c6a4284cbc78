"""Distortions per example: per-pixel RMS (the paper's measure), L2 and Linf."""

import numpy as np

from robustbench_keras.attacks.distances import distortions, per_pixel_rms


def test_per_pixel_rms_is_the_l2_norm_over_the_root_of_the_pixel_count():
    r = np.zeros((3, 28, 28), np.float32)
    r[0, 0, 0] = 28.0  # one pixel: sqrt(28^2 / 784) = 1
    r[1] = 0.1  # every pixel: 0.1
    np.testing.assert_allclose(per_pixel_rms(r), [1.0, 0.1, 0.0])
    assert per_pixel_rms(r).dtype == np.float64
    assert per_pixel_rms(np.zeros((0, 28, 28))).shape == (0,)


def test_distortions_measure_the_difference_per_example():
    rng = np.random.default_rng(0)
    x = rng.random((4, 28, 28)).astype(np.float32)
    x_adv = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32)
    measured = distortions(x, x_adv)
    r = (x_adv.astype(np.float64) - x).reshape(4, -1)
    np.testing.assert_allclose(measured["rms"], per_pixel_rms(x_adv.astype(np.float64) - x))
    np.testing.assert_allclose(measured["l2"], np.linalg.norm(r, axis=1))
    np.testing.assert_allclose(measured["rms"], measured["l2"] / 28.0)
    np.testing.assert_allclose(measured["linf"], np.abs(r).max(axis=1))
