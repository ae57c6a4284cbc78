"""Fixtures for the submission tests: tiny model files, good and bad, built in `tmp_path`."""

import json
import os
import pathlib
import types
import zipfile

import keras
import numpy as np
import pytest

NUM_SAMPLE = 64
MARKER_VARIABLE = "ROBUSTBENCH_KERAS_TEST_MARKER"


def touch_marker(x):
    """A named Lambda function whose call leaves the marker file behind: proof that submitted code ran."""
    pathlib.Path(os.environ[MARKER_VARIABLE]).touch()
    return x


def python_lambda():
    """A Python lambda (saved as bytecode) that leaves the marker file behind whenever it is called.

    It names no global: Keras rebuilds a lambda's bytecode without the globals of its module.
    """
    return lambda x: (
        __import__("pathlib").Path(__import__("os").environ["ROBUSTBENCH_KERAS_TEST_MARKER"]).touch(),
        x,
    )[1]


# Registered, so Keras's own safe mode resolves it by name: only the package's audit stops it.
registered_touch_marker = keras.saving.register_keras_serializable(package="robustbench_keras_tests")(touch_marker)


@keras.saving.register_keras_serializable(package="robustbench_keras_tests")
class MarkerLayer(keras.layers.Layer):
    """A registered custom layer whose construction (hence deserialisation) leaves a file behind."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        pathlib.Path(os.environ[MARKER_VARIABLE]).touch()

    def call(self, x):
        return x


class UnregisteredLayer(keras.layers.Layer):
    """A custom layer nobody registered."""

    def call(self, x):
        return x


def build_model(input_shape=(28, 28), num_classes=10, activation=None, middle=None, seed=0):
    """A tiny Functional model: optional middle layer, then Flatten and Dense(num_classes, activation)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=input_shape)
    x = inputs if middle is None else middle(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(num_classes, activation=activation, name="scores")(x)
    return keras.Model(inputs, outputs)


def rewrite_config(path, edit):
    """Rewrites the `config.json` of a `.keras` archive in place through `edit(config) -> None`."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.fixture(scope="session")
def sample(mnist):
    """Real MNIST test images and labels: float32 (64, 28, 28) in [0, 1], int64 (64,)."""
    return mnist.x_test[:NUM_SAMPLE], mnist.y_test[:NUM_SAMPLE]


@pytest.fixture
def marker(tmp_path, monkeypatch):
    """A path that exists only if submitted code ran (the payloads read it from the environment)."""
    path = tmp_path / "payload_ran"
    monkeypatch.setenv(MARKER_VARIABLE, str(path))
    return path


@pytest.fixture
def payloads():
    """The executable payloads: `python_lambda()`, `touch_marker`, `registered_touch_marker`,
    `MarkerLayer` (registered) and `UnregisteredLayer`."""
    return types.SimpleNamespace(
        python_lambda=python_lambda,
        touch_marker=touch_marker,
        registered_touch_marker=registered_touch_marker,
        MarkerLayer=MarkerLayer,
        UnregisteredLayer=UnregisteredLayer,
    )


@pytest.fixture
def build():
    """`build(input_shape, num_classes, activation, middle, seed)`: see `build_model`."""
    return build_model


@pytest.fixture
def rewrite():
    """`rewrite(path, edit)`: see `rewrite_config`."""
    return rewrite_config


@pytest.fixture
def save(tmp_path, marker):
    """`save(model, name)` writes `model` to `tmp_path / name` and returns the path; building a model
    calls its layers once, so any marker left then is removed."""

    def save_model(model, name="model.keras"):
        path = tmp_path / name
        model.save(path)
        marker.unlink(missing_ok=True)
        return path

    return save_model


@pytest.fixture
def good_file(save):
    """A valid `.keras` file: Flatten, Dense(10) logits, input (28, 28)."""
    return save(build_model())


@pytest.fixture
def probe_images():
    """Eight reproducible images in [0, 1] for comparing two models' outputs."""
    return np.random.default_rng(0).uniform(size=(8, 28, 28)).astype(np.float32)
