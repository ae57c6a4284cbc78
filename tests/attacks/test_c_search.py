"""The per-example c search: bracketing, then geometric bisection around each example's threshold."""

import numpy as np

from robustbench_keras.attacks.c_search import CSearch


def test_brackets_then_bisects_each_threshold():
    threshold = np.array([3e-3, 0.7, 1.0, 40.0, 2e4])  # success exactly when c < threshold
    search = CSearch(1.0, len(threshold), factor=10.0)
    for _ in range(20):
        search.update(search.c < threshold)
    assert np.all(search.c_success < threshold) and np.all(threshold <= search.c_failure)
    np.testing.assert_allclose(search.c_success, threshold, rtol=1e-3)


def test_first_steps_multiply_or_divide_by_the_factor():
    search = CSearch(1.0, 2, factor=10.0)
    np.testing.assert_allclose(search.update(np.array([True, False])), [10.0, 0.1])
    np.testing.assert_allclose(search.update(np.array([False, True])), [np.sqrt(10.0), np.sqrt(0.1)])
