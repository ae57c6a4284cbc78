"""Session fixtures shared by the tests: real MNIST from the local folder, never the network."""

import copy
import json
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


@pytest.fixture(scope="session")
def linear_model():
    """A tiny linear classifier of 6×6 images into 4 classes, layer "logits", its kernel scaled by 8 so that
    its softmax is sharp and detector scores are far from 0 (the feature-squeezing tests); do not change it."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 6))
    model = keras.Model(inputs, keras.layers.Dense(4, name="logits")(keras.layers.Flatten()(inputs)))
    kernel, bias = model.get_layer("logits").get_weights()
    model.get_layer("logits").set_weights([kernel * 8, bias])
    return model


# A small, hand-written, schema-valid leaderboard document shared by the leaderboard, plots and scorer tests.
SHA = {name: format(number, "064x") for number, name in enumerate(
    ["suite", "train", "test", "records1", "records2", "records3", "ckpt1", "ckpt2", "ckpt3", "ckpt4", "model4"], 1)}


def _summary(mean, records_sha, n=20, num_success=19):
    return {
        "n": n, "num_success": num_success, "success_rate": num_success / n,
        "mean": mean, "median": mean - 0.002, "p90": mean + 0.02, "ci95": [mean - 0.004, mean + 0.004],
        "target_policy": "random", "records": {"path": f"records/{records_sha[-1]}.npz", "sha256": records_sha},
    }


EXAMPLE_DOCUMENT = {
    "schema_version": "1.0",
    "suite": {"name": "mnist-test", "path": "suites/mnist.yaml", "hash": SHA["suite"]},
    "created_utc": "2025-01-02T03:04:05Z",
    "software": {"python": "3.11.9", "tensorflow": "2.21.0", "keras": "3.15.0",
                 "tensorflow_probability": "0.25.0", "numpy": "2.1.0", "robustbench_keras": "0.1.0"},
    "data_fingerprint": {
        "dataset": "mnist", "source": "/data/mnist",
        "files": {"train-images-idx3-ubyte.gz": {"sha256": SHA["train"], "official_sha256": SHA["train"], "official": True},
                  "t10k-images-idx3-ubyte.gz": {"sha256": SHA["test"], "official_sha256": None, "official": False}},
        "arrays": {"x_train": "sha256:abc"}, "id": "mnist-1234abcd",
    },
    "attack": {"objective": "cross_entropy", "target_policy": "random", "max_iterations": 100},
    "entries": [
        {
            "id": "fc10_wd1e-4", "paper_name": "FC10(1e-4)", "source": "zoo", "architecture": "softmax 784-10",
            "recipe": {"weight_decay": 1e-4, "epochs": 5}, "checkpoint_sha256": SHA["ckpt1"], "seed": 0,
            "train_split": "train",
            "clean_errors": {"train": 0.071, "test": 0.075},
            "min_distortion": {"train": _summary(0.0651, SHA["records1"]), "test": _summary(0.0602, SHA["records2"])},
            "transfer": {"table": "table2", "num_examples": 19, "distortion_rms_mean": 0.0651,
                         "errors_on": {"fc10_wd1e-4": 1.0, "fc100_100_10": 0.031, "my_cnn": 0.25}},
            "spectral": {"layers": [{"name": "dense", "kind": "dense", "shape": [784, 10], "stride": None, "bound": 2.5}],
                         "product": 2.5},
            "timings": {"train_s": 3.5, "attack_s": 10.25},
        },
        {
            "id": "fc100_100_10", "paper_name": "FC100-100-10", "source": "zoo", "architecture": "784-100-100-10",
            "recipe": {"epochs": 5}, "checkpoint_sha256": SHA["ckpt2"], "seed": 0, "train_split": "train",
            "clean_errors": {"train": 0.001, "test": 0.02},
            "min_distortion": {"train": _summary(0.0552, SHA["records3"])},
            "transfer": {"table": "table2", "num_examples": 20, "distortion_rms_mean": 0.0552,
                         "errors_on": {"fc10_wd1e-4": 0.3, "fc100_100_10": 1.0, "my_cnn": 0.1}},
        },
        {
            "id": "fc100_100_10_p1", "paper_name": "FC100-100-10 (P1)", "source": "zoo", "architecture": "784-100-100-10",
            "recipe": {"epochs": 5}, "checkpoint_sha256": SHA["ckpt3"], "seed": 1, "train_split": "p1",
            "clean_errors": {"train": 0.01, "test": 0.025, "p1": 0.0, "p2": 0.03},
            "min_distortion": {"test": _summary(0.0705, SHA["records2"])},
            "transfer": {"table": "table4", "num_examples": 20, "distortion_rms_mean": 0.0705,
                         "errors_on": {"fc100_100_10_p1": 1.0, "fc100_100_10_p2": 0.08},
                         "magnified": {"mode": "rms", "distortion_rms_mean": 0.1,
                                       "errors_on": {"fc100_100_10_p1": 1.0, "fc100_100_10_p2": 0.5}}},
        },
        {
            "id": "my_cnn", "paper_name": None, "source": "submission", "architecture": "conv 32-64, dense 10",
            "recipe": None, "checkpoint_sha256": SHA["ckpt4"], "seed": 0, "train_split": None,
            "clean_errors": {"train": 0.004, "test": 0.009},
            "min_distortion": {"test": _summary(0.0903, SHA["records3"], n=10, num_success=10)},
            "transfer": {"table": "table2", "num_examples": 10, "distortion_rms_mean": 0.0903,
                         "errors_on": {"fc10_wd1e-4": 0.2, "fc100_100_10": 0.4, "my_cnn": 1.0}},
            "spectral": {"unsupported_layer": "batch_normalization", "message": "BatchNormalization is not supported"},
            "submission": {"name": "My CNN", "authors": ["A. Person"], "link": None, "description": "a small CNN",
                           "model_sha256": SHA["model4"], "submitted_utc": "2025-01-03T00:00:00+00:00"},
        },
    ],
    "controls": {
        "table2": [{"label": "Gaussian noise, stddev=0.1", "stddev": 0.1, "distortion_rms": 0.1003,
                    "errors_on": {"fc10_wd1e-4": 0.06, "fc100_100_10": 0.01, "my_cnn": 0.0}},
                   {"label": "Gaussian noise, stddev=0.3", "stddev": 0.3, "distortion_rms": 0.2998,
                    "errors_on": {"fc10_wd1e-4": 0.2, "fc100_100_10": 0.05, "my_cnn": 0.02}}],
        "table4": [{"label": "Gaussian noise, stddev=0.06", "stddev": 0.06, "distortion_rms": 0.06,
                    "errors_on": {"fc100_100_10_p1": 0.02, "fc100_100_10_p2": 0.03}}],
        "table4_magnified": [{"label": "Gaussian noise, stddev=0.1", "stddev": 0.1, "distortion_rms": 0.1,
                              "errors_on": {"fc100_100_10_p1": 0.03, "fc100_100_10_p2": 0.03}}],
    },
    "table5": {
        "model": "alexnet", "weights": "initialised (seed 0)", "time_s": 12.5, "product": 30.0,
        "layers": [
            {"name": "conv1", "kind": "conv2d", "shape": [3, 11, 11, 96], "stride": 4, "bound": 3.0},
            {"name": "pool1", "kind": "max_pool", "shape": None, "stride": 2, "bound": 1.0},
            {"name": "fc1", "kind": "dense", "shape": [9216, 4096], "stride": None, "bound": 10.0},
        ],
    },
}


@pytest.fixture
def document():
    """A fresh deep copy of the example document (tests may change it)."""
    return copy.deepcopy(EXAMPLE_DOCUMENT)


@pytest.fixture
def leaderboard_path(tmp_path, document):
    """The example document written (plainly, not through the store) to a file in `tmp_path`."""
    path = tmp_path / "leaderboard.json"
    path.write_text(json.dumps(document, indent=2))
    return path


@pytest.fixture
def make_entry():
    """`make_entry(index)`: a valid zoo entry with id `model_<index>` and its own checkpoint hash."""

    def make(index):
        entry = copy.deepcopy(EXAMPLE_DOCUMENT["entries"][1])
        entry["id"] = f"model_{index}"
        entry["checkpoint_sha256"] = format(1000 + index, "064x")
        return entry

    return make


@pytest.fixture(scope="session")
def example_document():
    """The example document for module-scoped fixtures; tests must not change it."""
    return copy.deepcopy(EXAMPLE_DOCUMENT)
