"""The data fingerprint: file checksums against the official ones, array hashes, and the id."""

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np

from robustbench_keras.data import fingerprint, load_dataset
from robustbench_keras.data.sources import OfficialFile

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def test_file_record_compares_content_with_the_official_content():
    content = b"\x00\x00\x08\x01\x00\x00\x00\x01\x07"
    compressed = gzip.compress(content)
    official = OfficialFile("f.gz", 1, "ab" * 32, hashlib.sha256(content).hexdigest())
    record = fingerprint.file_record(compressed, content, official)
    assert record == {
        "sha256": hashlib.sha256(compressed).hexdigest(),
        "official_sha256": "ab" * 32,
        "content_sha256": hashlib.sha256(content).hexdigest(),
        "official_content_sha256": official.content_sha256,
        "official": True,
    }
    assert not fingerprint.file_record(compressed, content + b"\x00", official)["official"]


def test_array_hashes_and_id_follow_the_documented_recipe():
    arrays = {
        "x_train": np.zeros((2, 28, 28), np.float32),
        "y_train": np.array([1, 2], np.int64),
        "x_test": np.ones((1, 28, 28), np.float32),
        "y_test": np.array([3], np.int64),
    }
    record = fingerprint.dataset_fingerprint("mnist", "local", {}, arrays)
    expected = {key: hashlib.sha256(arrays[key].tobytes()).hexdigest() for key in arrays}
    assert record["arrays"] == expected
    joined = expected["x_train"] + expected["y_train"] + expected["x_test"] + expected["y_test"]
    assert record["id"] == hashlib.sha256(joined.encode()).hexdigest()[:16]
    assert record["dataset"] == "mnist" and record["source"] == "local"
    json.dumps(record)


def test_local_mnist_flags_the_reconstructed_training_images(mnist, mnist_dir):
    record = mnist.fingerprint
    assert record["dataset"] == "mnist" and record["source"] == "local"
    official = {name: entry["official"] for name, entry in record["files"].items()}
    assert official == {
        "train-images-idx3-ubyte.gz": False,
        "train-labels-idx1-ubyte.gz": True,
        "t10k-images-idx3-ubyte.gz": True,
        "t10k-labels-idx1-ubyte.gz": True,
    }
    for name, entry in record["files"].items():
        file_bytes = (Path(mnist_dir) / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(file_bytes).hexdigest()
        assert entry["content_sha256"] == hashlib.sha256(gzip.decompress(file_bytes)).hexdigest()
    # The three official files are byte-identical .gz files too; the reconstruction is not.
    assert all(
        (entry["sha256"] == entry["official_sha256"]) == entry["official"] for entry in record["files"].values()
    )
    assert record["arrays"]["x_train"] == hashlib.sha256(mnist.x_train.tobytes()).hexdigest()
    assert len(record["id"]) == 16 and json.loads(json.dumps(record)) == record


def test_fingerprint_is_a_copy_callers_cannot_corrupt(mnist):
    record = mnist.fingerprint
    record["files"].clear()
    assert len(mnist.fingerprint["files"]) == 4


def test_fashion_mnist_files_are_all_official():
    record = load_dataset("fashion_mnist", data_dir=FASHION_DIR, progress=False).fingerprint
    assert record["dataset"] == "fashion_mnist"
    assert sorted(record["files"]) == sorted(p.name for p in Path(FASHION_DIR).glob("*-idx?-ubyte.gz"))
    assert all(entry["official"] for entry in record["files"].values())
