"""Models shipped to workers: a `.keras` file's bytes, loaded once per worker process and kept by sha256."""

import dataclasses
import hashlib
import tempfile
from pathlib import Path

_LOADED = {}  # sha256 -> keras model, per worker process


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


def model_bytes(model):
    """The `.keras` file of `model` as bytes and their sha256."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        data = path.read_bytes()
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
