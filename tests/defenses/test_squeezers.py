"""The squeezers against hand-computed outputs and SciPy (EvadeML-Zoo's NumPy squeezers use SciPy)."""

import numpy as np
import pytest
import scipy.ndimage

from robustbench_keras.defenses.squeezers import bit_depth, median_filter, squeezers


def test_one_bit_depth_binarises_at_one_half_rounding_halves_to_even():
    x = np.array([[[0.0, 0.2, 0.49, 0.5, 0.51, 1.0]]], np.float32)
    np.testing.assert_array_equal(bit_depth(x, 1).numpy(), [[[0, 0, 0, 0, 1, 1]]])


def test_two_bit_depth_keeps_four_levels():
    x = np.array([[[0.2, 0.49, 0.5, 0.84, 0.9]]], np.float32)
    # x * 3 = 0.6, 1.47, 1.5, 2.52, 2.7 -> 1, 1, 2, 3, 3 thirds
    np.testing.assert_allclose(bit_depth(x, 2).numpy(), [[[1 / 3, 1 / 3, 2 / 3, 1, 1]]], rtol=1e-6)


def test_two_by_two_median_by_hand():
    x = (np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3)) / 10
    # Window: the pixel, its upper and left neighbours, edges repeated; value: 3rd smallest of 4,
    # e.g. (1, 1): {1, 2, 4, 5} -> 4; (0, 1): {1, 2, 1, 2} -> 2; (2, 0): {4, 4, 7, 7} -> 7.
    expected = np.array([[[1, 2, 3], [4, 4, 5], [7, 7, 8]]], np.float32) / 10
    np.testing.assert_allclose(median_filter(x, 2).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_median_matches_scipy_reflect_as_evademl(size):
    x = np.random.default_rng(size).random((3, 9, 7)).astype(np.float32)
    reference = scipy.ndimage.median_filter(x, size=(1, size, size), mode="reflect")
    np.testing.assert_array_equal(median_filter(x, size).numpy(), reference)


def test_paper_pair_is_the_default_and_zero_leaves_one_out():
    assert list(squeezers()) == ["bit_depth_1", "median_2x2"]
    assert list(squeezers(bits=0, median_size=3)) == ["median_3x3"]
    with pytest.raises(ValueError, match="bits >= 1"):
        bit_depth(np.zeros((1, 2, 2), np.float32), 0)
