"""Trained zoo models cached as `.keras` files, keyed by recipe, data fingerprint and seed.

A file's name is `<model id>-seed<seed>-<key>.keras`, where `key` is the first 16 hex digits of the
sha256 of the recipe's canonical JSON, the dataset fingerprint id and the seed, so changing any of them
trains a new model instead of loading a stale one. Beside each model a JSON sidecar
(`.json`, same stem) records the recipe, fingerprint id, seed, training time and final errors.
Both are written atomically (`robustbench_keras.atomic`), so an interrupted run never leaves a broken
checkpoint; the `.keras` bytes are canonical (`keras_bytes`), so the same weights give the same sha256; a damaged one (disk trouble, a hand edit) is deleted and trained again (`load_intact`).
Models load with `keras.models.load_model(..., safe_mode=True)`.
"""

import hashlib
import io
import json
import pathlib
import tempfile
import zipfile
import zlib

from robustbench_keras.atomic import atomic_write, atomic_write_text
from robustbench_keras.progress import note
from robustbench_keras.quiet import import_tensorflow

DEFAULT_CACHE_DIR = pathlib.Path("~/.cache/robustbench_keras/models")
FIXED_DATE_SAVED = "1980-01-01@00:00:00"  # Keras's format; the real save time would change the bytes


def cache_dir(path=None):
    """The cache folder: `path` if given, else ~/.cache/robustbench_keras/models."""
    return pathlib.Path(path or DEFAULT_CACHE_DIR).expanduser()


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


def save(model, model_file, info):
    """Writes `model` (as `keras_bytes`) and its sidecar `info` (a JSON-able dict) atomically; the model
    file last, so that a present `.keras` file always has its sidecar."""
    save_bytes(keras_bytes(model), model_file, info)


def save_bytes(data, model_file, info):
    """Like `save`, for a model's `.keras` file as bytes (e.g. a model trained on a worker)."""
    model_file = pathlib.Path(model_file)
    model_file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(sidecar_path(model_file), json.dumps(info, indent=2, sort_keys=True) + "\n")
    atomic_write(model_file, lambda temporary: temporary.write_bytes(data))


def keras_bytes(model):
    """The `.keras` file of `model` as bytes, canonical: Keras's `date_saved` and the zip entries' times
    are fixed and its `shared_object_id`s (memory addresses) numbered in order, so equal models (config
    and weights) give equal bytes, whenever and in whichever process they are saved."""
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "model.keras"
        model.save(path)  # Keras refuses a name without the .keras suffix
        saved = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    canonical = io.BytesIO()
    with saved, zipfile.ZipFile(canonical, "w") as archive:
        for item in saved.infolist():
            content = saved.read(item)
            if item.filename == "metadata.json":
                content = json.dumps(dict(json.loads(content), date_saved=FIXED_DATE_SAVED)).encode()
            elif item.filename == "config.json":
                content = json.dumps(_numbered_shared_objects(json.loads(content), {})).encode()
            entry = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = item.compress_type
            archive.writestr(entry, content)
    return canonical.getvalue()


def _numbered_shared_objects(config, numbers):
    """`config` with each distinct `shared_object_id` replaced by its rank of first appearance."""
    if isinstance(config, list):
        return [_numbered_shared_objects(item, numbers) for item in config]
    if not isinstance(config, dict):
        return config
    numbered = {key: _numbered_shared_objects(value, numbers) for key, value in config.items()}
    if "shared_object_id" in numbered:
        numbered["shared_object_id"] = numbers.setdefault(config["shared_object_id"], len(numbers) + 1)
    return numbered


def load(model_file):
    """Loads a cached model in safe mode (no arbitrary code)."""
    import_tensorflow()
    import keras

    from robustbench_keras.defenses import random_mask  # noqa: F401  (registers the zoo's RandomMask layer)
    from robustbench_keras.zoo import spheres_nets  # noqa: F401  (registers the quadratic net's layer)

    return keras.models.load_model(model_file, safe_mode=True)


def load_intact(model_file):
    """The cached model, or None if there is none; a damaged file (truncated, failing its CRC, not a
    model) is deleted with its sidecar and a note on stderr, so that the model is trained again."""
    model_file = pathlib.Path(model_file)
    if not model_file.is_file():
        return None
    try:
        return load(model_file)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        note(f"{model_file}: damaged cached model ({type(error).__name__}); deleted, the model is trained again")
        model_file.unlink()
        sidecar_path(model_file).unlink(missing_ok=True)
        return None
