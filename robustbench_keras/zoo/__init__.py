"""The model zoo: the MNIST networks of Szegedy et al. 2014 (arXiv 1312.6199, Tables 1 and 3) and a conv net.

    zoo.names()                      # ids in paper order
    spec = zoo.get("fc100_100_10")   # ZooSpec: paper name, architecture, split, recipe, paper errors
    model = zoo.build("fc100_100_10", seed=0)              # untrained, logits out
    model = zoo.load_or_train("fc100_100_10", ds, seed=0)  # trained once, then loaded from the cache

Every model takes float32 (batch, 28, 28) in [0, 1] and returns logits (batch, 10); its hidden layers are
"hidden_1", "hidden_2", ... and `last_hidden_layer(model)` is the one nearest the logits.
"""

import dataclasses
import time
import typing

import keras

from robustbench_keras.errors import ModelError
from robustbench_keras.zoo import architectures, cache, training
from robustbench_keras.zoo.architectures import hidden_layer_names, last_hidden_layer
from robustbench_keras.zoo.recipes import RECIPES, Recipe

__all__ = [
    "Recipe",
    "ZooSpec",
    "build",
    "cache_path",
    "get",
    "hidden_layer_names",
    "last_hidden_layer",
    "load_or_train",
    "names",
]


@dataclasses.dataclass(frozen=True)
class ZooSpec:
    """One zoo model.

    Attributes:
        id: stable, file-name safe id, e.g. "fc100_100_10_p2".
        paper_name: the paper's name, e.g. "FC100-100-10'".
        architecture: short description of the layers.
        train_split: the dataset split it is trained on: "train", "p1" or "p2".
        recipe: its training `Recipe`.
        paper_train_error: the paper's error on `train_split` (a fraction), None if not given.
        paper_test_error: the paper's test error (a fraction), None if not given.
        table: the paper table listing it, "table1" or "table3", None for the conv net.
        hidden_units: units per dense hidden layer, input side first (conv net: its dense layer).
        kind: "dense", "autoencoder" (dense with a pretrained first layer) or "conv".
    """

    id: str
    paper_name: str
    architecture: str
    train_split: str
    recipe: Recipe
    paper_train_error: typing.Optional[float]
    paper_test_error: typing.Optional[float]
    table: typing.Optional[str]
    hidden_units: tuple
    kind: str = "dense"


def _fc(model_id, paper_name, hidden_units, split, train_error, test_error, table):
    layers = "-".join(str(u) for u in hidden_units + (10,))
    architecture = f"fully connected {layers}, sigmoid hidden units" if hidden_units else "softmax regression 784-10"
    return ZooSpec(
        model_id, paper_name, architecture, split, RECIPES[model_id], train_error, test_error, table, hidden_units
    )


_SPECS = (
    _fc("fc10_wd1e-4", "FC10(1e-4)", (), "train", 0.067, 0.074, "table1"),
    _fc("fc10_wd1e-2", "FC10(1e-2)", (), "train", 0.10, 0.094, "table1"),
    _fc("fc10_wd1", "FC10(1)", (), "train", 0.212, 0.20, "table1"),
    _fc("fc100_100_10", "FC100-100-10", (100, 100), "train", 0.0, 0.0164, "table1"),
    _fc("fc200_200_10", "FC200-200-10", (200, 200), "train", 0.0, 0.0154, "table1"),
    ZooSpec(
        "ae400_10",
        "AE400-10",
        "400-unit sigmoid autoencoder (trained unsupervised) with a softmax on top",
        "train",
        RECIPES["ae400_10"],
        0.0057,
        0.019,
        "table1",
        (400,),
        kind="autoencoder",
    ),
    _fc("fc100_100_10_p1", "FC100-100-10", (100, 100), "p1", 0.0, 0.020, "table3"),
    _fc("fc123_456_10_p1", "FC123-456-10", (123, 456), "p1", 0.0, 0.021, "table3"),
    _fc("fc100_100_10_p2", "FC100-100-10'", (100, 100), "p2", 0.0, 0.021, "table3"),
    ZooSpec(
        "mnist_convnet",
        "MNIST conv net",
        "conv 5x5x16, ReLU, max-pool 2; conv 5x5x32, ReLU, max-pool 2; dense 100 ReLU; 10 logits",
        "train",
        RECIPES["mnist_convnet"],
        None,
        None,
        None,
        (100,),
        kind="conv",
    ),
)
_REGISTRY = {spec.id: spec for spec in _SPECS}


def names():
    """The zoo's model ids, in the paper's order (Table 1, Table 3, then the conv net)."""
    return [spec.id for spec in _SPECS]


def get(model_id):
    """The `ZooSpec` of `model_id`.

    Raises:
        ModelError: unknown id; the message lists the known ones.
    """
    if model_id not in _REGISTRY:
        raise ModelError(f"zoo: unknown model {model_id!r}; expected one of: {', '.join(names())}")
    return _REGISTRY[model_id]


def build(model_id, seed=0, recipe=None):
    """An untrained zoo model with weights initialised from `seed`.

    Args:
        model_id: a zoo id (`names()`).
        seed: seeds the weight initialisation.
        recipe: overrides the spec's recipe (only its weight decays matter here).

    Returns:
        A `keras.Model`, float32 (batch, 28, 28) in [0, 1] -> logits (batch, 10).
    """
    spec = get(model_id)
    l2_factors = (recipe or spec.recipe).l2_factors()
    keras.utils.set_random_seed(seed)
    if spec.kind == "conv":
        return architectures.convnet(spec.id, l2_factors, hidden_units=spec.hidden_units[0])
    return architectures.dense_net(spec.id, spec.hidden_units, l2_factors)


def cache_path(model_id, dataset, seed=0, cache_dir=None, recipe=None):
    """Where the trained model is, or would be, cached (see `zoo/cache.py` for the key)."""
    spec = get(model_id)
    return cache.model_path(spec.id, recipe or spec.recipe, dataset.fingerprint["id"], seed, cache_dir)


def load_or_train(model_id, dataset, seed=0, cache_dir=None, progress=True, recipe=None):
    """The trained model: loaded from the cache if there, else trained on its split and cached.

    Args:
        model_id: a zoo id (`names()`).
        dataset: a `robustbench_keras.data.Dataset` (`split(name) -> (x, y)`, `fingerprint["id"]`).
        seed: seeds initialisation and training; part of the cache key.
        cache_dir: the cache folder; None: $ROBUSTBENCH_KERAS_CACHE_DIR, else
            ~/.cache/robustbench_keras/models.
        progress: show training progress on stderr.
        recipe: overrides the spec's recipe (e.g. `spec.recipe.replace(epochs=2)`); part of the cache key.

    Returns:
        The trained `keras.Model` (logits out). A fresh training also writes a JSON sidecar with the
        training time and final errors on the training split and the test split.
    """
    spec = get(model_id)
    recipe = recipe or spec.recipe
    path = cache_path(model_id, dataset, seed, cache_dir, recipe)
    if path.exists():
        return cache.load(path)
    model = build(model_id, seed, recipe)
    x, y = dataset.split(spec.train_split)
    start = time.perf_counter()
    training.train(model, recipe, x, y, seed=seed, progress=progress)
    train_time_s = time.perf_counter() - start
    x_test, y_test = dataset.split("test")
    info = {
        "model_id": spec.id,
        "recipe": dataclasses.asdict(recipe),
        "data_fingerprint_id": dataset.fingerprint["id"],
        "seed": int(seed),
        "train_split": spec.train_split,
        "train_time_s": train_time_s,
        "train_error": training.error_rate(model, x, y),
        "test_error": training.error_rate(model, x_test, y_test),
        "keras_version": keras.__version__,
    }
    cache.save(model, path, info)
    return model
