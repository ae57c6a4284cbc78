"""Confidence intervals: Wilson's against SciPy's binomtest, the bootstraps against their definition."""

import numpy as np
import pytest
import scipy.stats

from robustbench_keras.statistics import bootstrap_ci, bootstrap_rate_ci, wilson_ci


@pytest.mark.parametrize("count, total, confidence", [(0, 300, 0.95), (18, 300, 0.95), (300, 300, 0.95),
                                                      (3, 10, 0.9), (1, 1, 0.99)])
def test_wilson_ci_matches_scipy_binomtest(count, total, confidence):
    expected = scipy.stats.binomtest(count, total).proportion_ci(confidence, method="wilson")
    np.testing.assert_allclose(wilson_ci(count, total, confidence), (expected.low, expected.high), atol=1e-12)


def test_bootstrap_ci_is_the_percentile_interval_of_seeded_resample_means():
    values = np.random.default_rng(0).random(25)
    resamples = values[np.random.default_rng(3).integers(0, 25, size=(200, 25))]
    expected = np.quantile(resamples.mean(axis=1), [0.025, 0.975])
    np.testing.assert_allclose(bootstrap_ci(values, num_resamples=200, seed=3), expected, rtol=1e-12)
    assert all(np.isnan(bootstrap_ci([])))


@pytest.mark.parametrize("num_events, n", [(37, 2000), (3, 400), (0, 50)])
def test_rate_interval_matches_the_bootstrap_over_zero_one_values(num_events, n):
    values = np.zeros(n)
    values[:num_events] = 1
    reference = bootstrap_ci(values, num_resamples=4000, seed=1)
    low, high = bootstrap_rate_ci(num_events, n, num_resamples=4000, seed=2)
    width = reference[1] - reference[0]
    assert low == pytest.approx(reference[0], abs=0.1 * width + 1e-12)
    assert high == pytest.approx(reference[1], abs=0.1 * width + 1e-12)
    assert low <= num_events / n <= high
    assert np.isnan(bootstrap_rate_ci(0, 0)).all()  # no examples
