"""MNIST and Fashion-MNIST as arrays in the original IDX order, with a data fingerprint.

```python
ds = load_dataset("mnist", data_dir=None)   # None: tensorflow-datasets' download manager
ds.x_train, ds.y_train, ds.x_test, ds.y_test  # float32 (N, 28, 28) in [0, 1]; int64 (N,)
x, y = ds.split("p1")                         # "train", "test", "p1", "p2"
ds.fingerprint                                # JSON-able dict (see `fingerprint.dataset_fingerprint`)
```

The modules: `sources` finds the four `.gz` files (local folder or download cache), `idx` decodes
them, `fingerprint` hashes files and arrays, `splits` cuts the paper's P1 / P2.
"""

import dataclasses
import json

import numpy as np

from robustbench_keras.data import fingerprint, idx, sources, spheres, splits
from robustbench_keras.errors import DataError
from robustbench_keras.progress import Progress

DATASET_NAMES = tuple(sources.OFFICIAL) + (spheres.NAME,)
SPLIT_NAMES = splits.SPLIT_NAMES
NUM_CLASSES = 10  # both datasets: the digits, or ten kinds of clothing

__all__ = ["DATASET_NAMES", "SPLIT_NAMES", "Dataset", "load_dataset"]

# Decoded datasets of this process, keyed by name, source and the files' paths, sizes and mtimes.
_LOADED = {}


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """One dataset's arrays, read-only, in IDX order.

    Attributes:
        name: "mnist" or "fashion_mnist".
        x_train: float32 (60000, 28, 28) in [0, 1], the file's bytes / 255.
        y_train: int64 (60000,) class indices 0-9.
        x_test: float32 (10000, 28, 28) in [0, 1].
        y_test: int64 (10000,).
        fingerprint_json: the fingerprint as JSON text; read it through `fingerprint`.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    fingerprint_json: str = dataclasses.field(repr=False)
    split_names = SPLIT_NAMES

    @property
    def fingerprint(self):
        """A fresh copy of the JSON-able fingerprint: dataset, source, files, arrays, id."""
        return json.loads(self.fingerprint_json)

    def split(self, name):
        """Returns `(x, y)` of "train", "test", "p1" (first 30,000 training images) or "p2" (the next 30,000).

        Raises:
            DataError: unknown split name.
        """
        return splits.select(self, name)


def load_dataset(name="mnist", data_dir=None, download_dir=None, progress=True, spheres_spec=None):
    """Loads a dataset from a local folder or through tensorflow-datasets' download manager, or the
    generated spheres (`data/spheres.py`, no files).

    Loading the same unchanged files again in the same process returns the same (read-only) `Dataset`.

    Args:
        name: one of `DATASET_NAMES`.
        data_dir: a folder with the four official `*-idx?-ubyte.gz` files, or a parent folder with one
            sub-folder per dataset (`mnist/`, `fashion_mnist/` or `fashion-mnist/`); None downloads them.
        download_dir: the download cache when `data_dir` is None; None: tensorflow-datasets' default.
        progress: print a progress line to stderr.
        spheres_spec: the `SpheresSpec` of "spheres" (None: its defaults).

    Returns:
        The `Dataset` (a `SpheresDataset` for "spheres").

    Raises:
        DataError: unknown name, missing or corrupt files, a local folder holding another dataset's files,
            a download that does not match the official files, or no network and nothing cached.
    """
    if name == spheres.NAME:
        return spheres.SpheresDataset(spheres_spec or spheres.SpheresSpec())
    if name not in sources.OFFICIAL:
        raise DataError(f"dataset {name!r}: unknown; expected one of {', '.join(DATASET_NAMES)}")
    if data_dir is not None:
        source, paths = "local", sources.local_files(name, data_dir)
    else:
        source, paths = "tensorflow-datasets", sources.downloaded_files(name, download_dir)
    key = (name, source) + tuple(_file_identity(paths[role]) for role in sources.ROLES)
    if key not in _LOADED:
        _LOADED[key] = _decode(name, source, paths, progress)
    return _LOADED[key]


def _file_identity(path):
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def _decode(name, source, paths, progress):
    """Reads, checks, hashes and converts the four files."""
    official = sources.OFFICIAL[name]
    records, decoded = {}, {}
    with Progress(f"reading {name}", total=len(paths), unit="file", enabled=progress) as bar:
        for role in sources.ROLES:
            path = paths[role]
            compressed = path.read_bytes()
            content = idx.gunzip(compressed, str(path))
            record = fingerprint.file_record(compressed, content, official.files[role])
            if source == "tensorflow-datasets" and not record["official"]:
                raise DataError(
                    f"{path}: content sha256 {record['content_sha256']} differs from the official "
                    f"{record['official_content_sha256']}; delete the file from the download cache and load again"
                )
            records[path.name] = record
            parse = idx.parse_images if role.endswith("images") else idx.parse_labels
            decoded[role] = parse(content, str(path))
            bar.update(1)
    for part in ("train", "test"):
        images, labels = decoded[f"{part}_images"], decoded[f"{part}_labels"]
        if len(images) != len(labels):
            raise DataError(
                f"{paths[f'{part}_images']}: {len(images):,} images but {paths[f'{part}_labels'].name} "
                f"has {len(labels):,} labels; the two files must come from the same release"
            )
        if not len(images):
            raise DataError(f"{paths[f'{part}_images']}: holds no images; replace it with the official file")
        if labels.max() >= NUM_CLASSES:
            raise DataError(f"{paths[f'{part}_labels']}: label {labels.max()} found, expected 0 to "
                            f"{NUM_CLASSES - 1}; replace it with the official file")
    arrays = {
        "x_train": pixels(decoded["train_images"]),
        "y_train": _labels(decoded["train_labels"]),
        "x_test": pixels(decoded["test_images"]),
        "y_test": _labels(decoded["test_labels"]),
    }
    record = fingerprint.dataset_fingerprint(name, source, records, arrays)
    return Dataset(name=name, fingerprint_json=json.dumps(record, sort_keys=True), **arrays)


def pixels(images):
    """uint8 -> float32 bytes / 255, read-only (float32 division is exact-rounded, so hashes are stable)."""
    values = images.astype(np.float32) / np.float32(255)
    values.flags.writeable = False
    return values


def _labels(labels):
    values = labels.astype(np.int64)
    values.flags.writeable = False
    return values
