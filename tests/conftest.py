"""Session fixtures shared by the tests: real MNIST from the local folder, never the network."""

import os

import pytest

from robustbench_keras.quiet import import_tensorflow

import_tensorflow()  # TensorFlow's start-up lines silenced before any test module imports Keras

DATA_DIR_VARIABLE = "ROBUSTBENCH_KERAS_DATA_DIR"


@pytest.fixture(scope="session")
def mnist_dir():
    """The local MNIST folder named by ROBUSTBENCH_KERAS_DATA_DIR (CI: ../shared/data/mnist)."""
    path = os.environ.get(DATA_DIR_VARIABLE)
    if not path:
        raise RuntimeError(f"set {DATA_DIR_VARIABLE} to the local MNIST folder (e.g. ../shared/data/mnist)")
    return path


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    """The full MNIST dataset loaded from the local folder."""
    from robustbench_keras.data import load_dataset

    return load_dataset("mnist", data_dir=mnist_dir)
