"""Tiny hand-built IDX files, written with struct and gzip independently of the package's parser."""

import gzip
import struct
import types

import numpy as np
import pytest

FILENAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def idx_bytes(magic, dims, payload):
    """An uncompressed IDX file: big-endian magic, one uint32 per dimension, then the payload."""
    return struct.pack(f">I{len(dims)}I", magic, *dims) + bytes(payload)


def images_file(images):
    """Gzipped IDX bytes of uint8 images (N, rows, cols)."""
    return gzip.compress(idx_bytes(2051, images.shape, images.tobytes()))


def labels_file(labels):
    """Gzipped IDX bytes of uint8 labels (N,)."""
    return gzip.compress(idx_bytes(2049, labels.shape, labels.tobytes()))


@pytest.fixture
def build_idx():
    """The IDX builders above, for test modules (conftest modules are not importable by name)."""
    return types.SimpleNamespace(
        idx_bytes=idx_bytes, images_file=images_file, labels_file=labels_file, filenames=FILENAMES
    )


@pytest.fixture
def tiny_arrays():
    """uint8 arrays of a tiny dataset: 3 training and 2 test images with labels."""
    rng = np.random.default_rng(0)
    return {
        "train_images": rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        "train_labels": np.array([7, 0, 9], dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8),
        "test_labels": np.array([3, 1], dtype=np.uint8),
    }


@pytest.fixture
def tiny_dir(tmp_path, tiny_arrays):
    """A folder with the tiny dataset's four files under the official names."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    for role, array in tiny_arrays.items():
        encode = images_file if role.endswith("images") else labels_file
        (folder / FILENAMES[role]).write_bytes(encode(array))
    return folder
