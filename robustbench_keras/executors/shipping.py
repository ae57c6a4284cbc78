"""What travels to workers: models (`.keras` bytes, loaded once per worker process and kept by sha256),
datasets (their arrays, images as bytes) and plain values, all through Ray's object store.

In process a handle is the object itself, so `resolve_*` give it back unchanged.
"""

import dataclasses
import hashlib
import tempfile
from pathlib import Path

import numpy as np

_LOADED = {}  # sha256 -> keras model, per worker process
_DATASETS = {}  # fingerprint id -> Dataset, per worker process


@dataclasses.dataclass(frozen=True)
class ShippedModel:
    """A model travelling to workers: its `.keras` bytes in Ray's object store, named by their sha256.

    Attributes:
        sha256: of the `.keras` bytes; the worker's cache key.
        refs: a one-item list holding the object reference of the bytes (a list, so that Ray does not
            fetch the bytes with every task: a worker fetches them once, on the first task it runs).
    """

    sha256: str
    refs: list


@dataclasses.dataclass(frozen=True)
class ShippedValue:
    """A value put once into Ray's object store (a dataset's packed arrays, a transfer table's inputs).

    Attributes:
        key: names the value in a worker's cache (a dataset's fingerprint id), or None: not cached.
        refs: a one-item list holding the object reference (see `ShippedModel`).
    """

    key: object
    refs: list


def model_bytes(model):
    """The canonical `.keras` file of `model` as bytes (`zoo.cache.keras_bytes`) and their sha256."""
    from robustbench_keras.zoo import cache

    data = cache.keras_bytes(model)
    return data, hashlib.sha256(data).hexdigest()


def resolve_model(handle):
    """The Keras model behind `handle`: the model itself in process, else loaded once per worker."""
    if not isinstance(handle, ShippedModel):
        return handle
    if handle.sha256 not in _LOADED:
        import ray

        from robustbench_keras.zoo import cache

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.keras"
            path.write_bytes(ray.get(handle.refs[0]))
            _LOADED[handle.sha256] = cache.load(path)
    return _LOADED[handle.sha256]


def resolve_value(handle):
    """The value behind `handle`: itself in process, else fetched from the object store."""
    if not isinstance(handle, ShippedValue):
        return handle
    import ray

    return ray.get(handle.refs[0])


def pack_dataset(dataset):
    """A dataset's fields as a dict, images as their uint8 bytes where that is exact (a quarter the size)."""
    from robustbench_keras.data import pixels

    packed = {field.name: getattr(dataset, field.name) for field in dataclasses.fields(dataset)}
    for name in ("x_train", "x_test"):
        images = np.rint(packed[name] * 255).astype(np.uint8)
        if np.array_equal(pixels(images), packed[name]):
            packed[name] = images
    return packed


def resolve_dataset(handle):
    """The `Dataset` behind `handle`: itself in process, else unpacked once per worker."""
    if not isinstance(handle, ShippedValue):
        return handle
    if handle.key not in _DATASETS:
        from robustbench_keras.data import Dataset, pixels

        packed = dict(resolve_value(handle))
        for name in ("x_train", "x_test"):
            if packed[name].dtype == np.uint8:
                packed[name] = pixels(packed[name])
        _DATASETS[handle.key] = Dataset(**packed)
    return _DATASETS[handle.key]
