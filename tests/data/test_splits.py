"""train / test / P1 / P2 (Szegedy et al. 2014, Table 3: P1, P2 are the two halves of the training set)."""

import numpy as np
import pytest

from robustbench_keras.errors import DataError


def test_p1_and_p2_partition_train_in_order(mnist):
    x_train, y_train = mnist.split("train")
    x_p1, y_p1 = mnist.split("p1")
    x_p2, y_p2 = mnist.split("p2")
    assert len(x_p1) == len(x_p2) == 30_000 and len(y_p1) == len(y_p2) == 30_000
    np.testing.assert_array_equal(np.concatenate([x_p1, x_p2]), x_train)
    np.testing.assert_array_equal(np.concatenate([y_p1, y_p2]), y_train)
    assert not np.shares_memory(x_p1, x_p2)


def test_train_and_test_are_the_dataset_arrays(mnist):
    x, y = mnist.split("test")
    assert x is mnist.x_test and y is mnist.y_test
    x, y = mnist.split("train")
    assert x is mnist.x_train and y is mnist.y_train


def test_split_arrays_cannot_be_written(mnist):
    x_p2, _ = mnist.split("p2")
    with pytest.raises(ValueError):
        x_p2[0, 0, 0] = 1.0


def test_unknown_split_names_the_known_ones(mnist):
    with pytest.raises(DataError, match=r"^split 'p3': unknown; expected one of train, test, p1, p2$"):
        mnist.split("p3")
