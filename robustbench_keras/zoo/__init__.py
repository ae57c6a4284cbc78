"""The model zoo: the MNIST networks of Szegedy et al. 2014 (arXiv 1312.6199, Tables 1 and 3) and a conv net.

    zoo.names()                      # ids in paper order
    spec = zoo.get("fc100_100_10")   # ZooSpec: paper name, architecture, split, recipe, paper errors
    model = zoo.build("fc100_100_10", seed=0)              # untrained, logits out
    model = zoo.load_or_train("fc100_100_10", ds, seed=0)  # trained once, then loaded from the cache
    model, info = zoo.train("fc100_100_10", ds, seed=0)   # trained, not cached; info: the cache's sidecar

Every model takes float32 (batch, 28, 28) in [0, 1] and returns logits (batch, 10); its hidden layers are
"hidden_1", "hidden_2", ... The specs (`zoo/specs.py`) and `training_cost` need no Keras: importing the
zoo is cheap, and TensorFlow loads (silenced) when a model is first built or loaded.
"""

import dataclasses
import time
from importlib import metadata

from robustbench_keras.evaluation import error_rate
from robustbench_keras.zoo import cache
from robustbench_keras.zoo.costs import training_cost
from robustbench_keras.zoo.recipes import Recipe
from robustbench_keras.zoo.specs import ZooSpec, get, names

__all__ = [
    "Recipe",
    "ZooSpec",
    "build",
    "cache_path",
    "get",
    "load_or_train",
    "names",
    "train",
    "training_cost",
]


def build(model_id, seed=0, recipe=None):
    """An untrained zoo model with weights initialised from `seed`.

    Args:
        model_id: a zoo id (`names()`).
        seed: seeds the weight initialisation (plus the spec's `seed_offset`).
        recipe: overrides the spec's recipe (only its weight decays and dropout matter here).

    Returns:
        A `keras.Model`, float32 (batch, 28, 28) in [0, 1] -> logits (batch, 10); a spheres model
        (`spec.dimension` > 0): float32 (batch, d) -> logits (batch, 2).
    """
    from robustbench_keras.zoo import architectures, spheres_nets  # Keras, after TensorFlow's silenced import

    spec = get(model_id)
    recipe = recipe or spec.recipe
    if spec.dimension:
        return spheres_nets.build(spec.kind.removeprefix("spheres_"), spec.dimension, spec.hidden_units[0],
                                  seed + spec.seed_offset)
    return architectures.build(spec, recipe.l2_factors(), seed + spec.seed_offset, dropout=recipe.dropout)


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
        cache_dir: the cache folder; None: ~/.cache/robustbench_keras/models.
        progress: show training progress on stderr.
        recipe: overrides the spec's recipe (e.g. `spec.recipe.replace(epochs=2)`); part of the cache key.

    Returns:
        The trained `keras.Model` (logits out), cached with the sidecar of `train`.
    """
    path = cache_path(model_id, dataset, seed, cache_dir, recipe)
    model = cache.load_intact(path)
    if model is None:
        model, info = train(model_id, dataset, seed, progress, recipe)
        cache.save(model, path, info)
    return model


def train(model_id, dataset, seed=0, progress=True, recipe=None):
    """A freshly trained model and its sidecar (not cached; `load_or_train`'s arguments).

    Returns:
        `(model, info)`: the trained `keras.Model`, and a JSON-able dict of the training time and final
        errors on the training split and the test split, the test error after every epoch ("history";
        adversarial training adds each epoch's pool layer and pool distortion, PGD training (Xiao et al.
        2019) each epoch's loss and attack radius) and, for adversarial training, the time spent attacking
        ("attack_time_s").
    """
    from robustbench_keras.zoo import adversarial_training, pgd_training, spheres_nets, training  # after TensorFlow

    spec = get(model_id)
    recipe = recipe or spec.recipe
    model = build(model_id, seed, recipe)
    x, y = dataset.split(spec.train_split)
    x_test, y_test = dataset.split("test")
    training_seed = seed + spec.seed_offset
    start = time.perf_counter()
    if spec.dimension:  # the spheres: fresh points from the dataset's generator
        spheres_nets.train(model, dataset.spec, recipe.epochs * recipe.steps_per_epoch, recipe.batch_size,
                           recipe.learning_rate, recipe.schedule, show_progress=progress)
        trace = {}
    elif recipe.pgd is not None:
        trace = pgd_training.train(model, recipe, x, y, training_seed, progress, x_test, y_test)
    elif recipe.adversarial is not None:
        trace = adversarial_training.train(model, recipe, x, y, training_seed, progress, x_test, y_test)
    else:
        history = []
        training.train(model, recipe, x, y, training_seed, progress, x_test, y_test, history)
        trace = {"history": history}
    train_time_s = time.perf_counter() - start
    info = {
        "model_id": spec.id,
        "recipe": dataclasses.asdict(recipe),
        "data_fingerprint_id": dataset.fingerprint["id"],
        "seed": int(seed),
        "seed_offset": spec.seed_offset,
        "mask": {"layer": "mask_1", "ratio": spec.mask_ratio, "seed": spec.mask_seed} if spec.mask_ratio else None,
        "train_split": spec.train_split,
        "train_time_s": train_time_s,
        "train_error": error_rate(model, x, y),
        "test_error": error_rate(model, x_test, y_test),
        "keras_version": metadata.version("keras"),
        **trace,  # "history", and "attack_time_s" for adversarial training
    }
    return model, info
