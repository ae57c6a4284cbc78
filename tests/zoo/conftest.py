"""Fixtures for the zoo tests: a small real MNIST sample packed as a `Dataset`."""

import json

import pytest

from robustbench_keras.data import Dataset

NUM_TRAIN = 5000
NUM_TEST = 2000


@pytest.fixture(scope="session")
def small_mnist(mnist):
    """The first 5,000 MNIST training and 2,000 test images, with their own fingerprint id."""
    fingerprint = mnist.fingerprint
    fingerprint["id"] = f"{fingerprint['id']}-first{NUM_TRAIN}-{NUM_TEST}"
    return Dataset(
        name="mnist",
        x_train=mnist.x_train[:NUM_TRAIN],
        y_train=mnist.y_train[:NUM_TRAIN],
        x_test=mnist.x_test[:NUM_TEST],
        y_test=mnist.y_test[:NUM_TEST],
        fingerprint_json=json.dumps(fingerprint),
    )
