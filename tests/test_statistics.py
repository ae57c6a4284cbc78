"""Bootstrap intervals: the rate shortcut agrees with resampling the 0/1 values themselves."""

import numpy as np
import pytest

from robustbench_keras.statistics import bootstrap_ci, bootstrap_rate_ci


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
