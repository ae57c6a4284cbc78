"""The peers benchmark's problems: its three models, a slice of MNIST test images and their targets.

The zoo's `fc100_100_10` and `mnist_convnet` (`zoo.load_or_train`, seed 0) and a 784-256-256-10 ReLU MLP
trained here with `RELU_RECIPE`, all cached in ROBUSTBENCH_KERAS_CACHE_DIR (else the zoo's default cache
folder); by default the first 100 test images with random wrong labels of seed 0 as targets, or none
(untargeted, policy "closest"); another `ExampleSlice` (other images, another target seed) is a held-out
check. A problem's key (sha256 of the weights, checkpoint, examples and targets) files its stored results
(`peer_results.py`).
"""

import dataclasses
import hashlib
import json
import os
import pathlib

import numpy as np

from peer_results import ExampleSlice, store_name

CACHE_DIR = os.environ.get("ROBUSTBENCH_KERAS_CACHE_DIR")  # None: the zoo's default cache folder
NUM_EXAMPLES = ExampleSlice().num_examples
RELU_RECIPE = {"layers": [256, 256], "activation": "relu", "optimizer": "adam", "learning_rate": 1e-3,
               "epochs": 5, "batch_size": 128, "train_examples": 60000, "seed": 0}


@dataclasses.dataclass
class Problem:
    """One model with its examples and targets, and the key their stored results are filed under."""

    name: str
    model: object
    x: np.ndarray
    y: np.ndarray
    targets: np.ndarray
    key: dict
    policy: str = "random"
    examples: ExampleSlice = ExampleSlice()

    @property
    def store(self):
        """The name its results are filed under (`store_name`)."""
        return store_name(self.name, self.policy, self.examples)


def _sha256(*arrays):
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _file_sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def load_mnist():
    """MNIST from ROBUSTBENCH_KERAS_DATA_DIR (never the network)."""
    from robustbench_keras.data import load_dataset

    path = os.environ.get("ROBUSTBENCH_KERAS_DATA_DIR")
    if not path:
        raise SystemExit("set ROBUSTBENCH_KERAS_DATA_DIR to the local MNIST folder")
    return load_dataset("mnist", data_dir=path)


def relu_mlp(mnist, cache_dir=CACHE_DIR):
    """The 784-256-256-10 ReLU MLP, trained once with `RELU_RECIPE` (fixed seed) and cached: (model, path)."""
    import keras

    from robustbench_keras.zoo import cache

    recipe_hash = hashlib.sha256(json.dumps(RELU_RECIPE, sort_keys=True).encode()).hexdigest()[:16]
    path = cache.cache_dir(cache_dir) / f"peers_relu_mlp_784_256_256_10-seed0-{recipe_hash}.keras"
    if path.exists():
        return keras.models.load_model(path, safe_mode=True), path
    keras.utils.set_random_seed(RELU_RECIPE["seed"])
    inputs = keras.Input((28, 28))
    hidden = keras.layers.Flatten()(inputs)
    for units in RELU_RECIPE["layers"]:
        hidden = keras.layers.Dense(units, activation=RELU_RECIPE["activation"])(hidden)
    model = keras.Model(inputs, keras.layers.Dense(10)(hidden))
    model.compile(keras.optimizers.Adam(RELU_RECIPE["learning_rate"]),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x_train, y_train = mnist.split("train")
    n = RELU_RECIPE["train_examples"]
    model.fit(x_train[:n], y_train[:n], epochs=RELU_RECIPE["epochs"], batch_size=RELU_RECIPE["batch_size"], verbose=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model, path


def load_model(name, mnist, cache_dir=CACHE_DIR):
    """(model, checkpoint path) for one of `MODELS`."""
    if name == "relu_mlp_256_256":
        return relu_mlp(mnist, cache_dir)
    from robustbench_keras import zoo

    model = zoo.load_or_train(name, mnist, seed=0, cache_dir=cache_dir, progress=False)
    return model, zoo.cache_path(name, mnist, seed=0, cache_dir=cache_dir)


def make_problem(name, mnist=None, cache_dir=CACHE_DIR, policy="random", examples=ExampleSlice()):
    """The model `name` with the slice's test images and their seeded random wrong targets (policy "random"),
    or untargeted (policy "closest": targets -1, any wrong label counts).

    Raises:
        ValueError: the slice is empty or reaches past the test set.
    """
    mnist = mnist if mnist is not None else load_mnist()
    x, y = mnist.split("test")
    first, stop = examples.first, examples.first + examples.num_examples
    if first < 0 or examples.num_examples < 1 or stop > len(x):
        raise ValueError(f"test images {first}-{stop - 1}: the test set has images 0-{len(x) - 1}")
    model, path = load_model(name, mnist, cache_dir)
    x, y = np.asarray(x[first:stop], np.float32), np.asarray(y[first:stop], np.int64)
    targets = (y + np.random.default_rng(examples.target_seed).integers(1, 10, size=y.shape)) % 10
    if policy == "closest":
        targets = np.full_like(y, -1)
    key = {"model": name, "weights_sha256": _sha256(*model.get_weights()), "checkpoint": pathlib.Path(path).name,
           "checkpoint_sha256": _file_sha256(path), "examples_sha256": _sha256(x),
           "targets_sha256": _sha256(targets) if policy == "random" else "untargeted (closest)",
           "num_examples": int(examples.num_examples), "first": int(first), "target_seed": int(examples.target_seed)}
    return Problem(name, model, x, y, targets, key, policy, examples)
