"""Trained zoo models cached as `.keras` files, keyed by recipe, data fingerprint and seed.

A file's name is `<model id>-seed<seed>-<key>.keras`, where `key` is the first 16 hex digits of the
sha256 of the recipe's canonical JSON, the dataset fingerprint id and the seed, so changing any of them
trains a new model instead of loading a stale one. Beside each model a JSON sidecar
(`.json`, same stem) records the recipe, fingerprint id, seed, training time and final errors.
Both are written to a temporary file and renamed, so an interrupted run never leaves a broken checkpoint.
Models load with `keras.models.load_model(..., safe_mode=True)`.
"""

import hashlib
import json
import os
import pathlib
import tempfile

import keras

CACHE_DIR_VARIABLE = "ROBUSTBENCH_KERAS_CACHE_DIR"
DEFAULT_CACHE_DIR = pathlib.Path("~/.cache/robustbench_keras/models")


def cache_dir(path=None):
    """The cache folder: `path` if given, else $ROBUSTBENCH_KERAS_CACHE_DIR, else ~/.cache/robustbench_keras/models."""
    chosen = path or os.environ.get(CACHE_DIR_VARIABLE) or DEFAULT_CACHE_DIR
    return pathlib.Path(chosen).expanduser()


def cache_key(recipe, fingerprint_id, seed):
    """16 hex digits identifying (recipe, data fingerprint id, seed)."""
    text = json.dumps({"recipe": recipe.to_json(), "data": fingerprint_id, "seed": int(seed)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def model_path(model_id, recipe, fingerprint_id, seed, path=None):
    """Where the trained model for these inputs is, or would be, cached."""
    key = cache_key(recipe, fingerprint_id, seed)
    return cache_dir(path) / f"{model_id}-seed{int(seed)}-{key}.keras"


def sidecar_path(model_file):
    """The JSON sidecar beside a cached `.keras` file."""
    return pathlib.Path(model_file).with_suffix(".json")


def _atomic_write(target, write):
    """Calls `write(temporary_path)`, then renames the temporary file onto `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=target.suffix)
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def save(model, model_file, info):
    """Writes `model` and its sidecar `info` (a JSON-able dict) atomically; the model file last.

    The sidecar is written first so that a present `.keras` file always has its sidecar.
    """
    model_file = pathlib.Path(model_file)

    def write_info(temporary):
        with open(temporary, "w") as f:
            json.dump(info, f, indent=2, sort_keys=True)
            f.write("\n")

    _atomic_write(sidecar_path(model_file), write_info)
    # Keras refuses to save to a name without the .keras suffix; mkstemp keeps it.
    _atomic_write(model_file, model.save)


def load(model_file):
    """Loads a cached model in safe mode (no arbitrary code)."""
    return keras.models.load_model(model_file, safe_mode=True)


def read_info(model_file):
    """The sidecar dict of a cached model."""
    with open(sidecar_path(model_file)) as f:
        return json.load(f)
