"""load_dataset from a local folder: arrays, dtypes, order, caching, and the folder-level errors."""

import gzip
from pathlib import Path

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st

from robustbench_keras.data import DATASET_NAMES, Dataset, load_dataset
from robustbench_keras.errors import DataError

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def test_tiny_folder_decodes_to_bytes_over_255_in_file_order(tiny_dir, tiny_arrays):
    ds = load_dataset("mnist", data_dir=tiny_dir, progress=False)
    assert isinstance(ds, Dataset) and ds.name == "mnist"
    for key, role in (("x_train", "train_images"), ("x_test", "test_images")):
        array = getattr(ds, key)
        assert array.dtype == np.float32
        # float32 division is correctly rounded: the exact quotient rounded once to float32.
        np.testing.assert_array_equal(array, (tiny_arrays[role].astype(np.float64) / 255.0).astype(np.float32))
    assert ds.y_train.dtype == np.int64 and ds.y_train.tolist() == [7, 0, 9]
    assert ds.y_test.tolist() == [3, 1]
    assert not any(entry["official"] for entry in ds.fingerprint["files"].values())


def test_mnist_shapes_dtypes_ranges_and_order(mnist, mnist_dir):
    assert mnist.x_train.shape == (60_000, 28, 28) and mnist.x_test.shape == (10_000, 28, 28)
    assert mnist.y_train.shape == (60_000,) and mnist.y_test.shape == (10_000,)
    assert mnist.x_train.dtype == mnist.x_test.dtype == np.float32
    assert mnist.y_train.dtype == mnist.y_test.dtype == np.int64
    assert mnist.x_train.min() == 0.0 and mnist.x_train.max() == 1.0
    assert set(np.unique(mnist.y_test).tolist()) == set(range(10))
    # The original IDX order: MNIST's well-known first training labels.
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    raw = gzip.decompress((Path(mnist_dir) / "t10k-images-idx3-ubyte.gz").read_bytes())
    reference = np.frombuffer(raw, np.uint8, offset=16).reshape(10_000, 28, 28) / 255.0
    np.testing.assert_array_equal(mnist.x_test, reference.astype(np.float32))


def test_arrays_are_read_only(mnist):
    for array in (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test):
        with pytest.raises(ValueError):
            array[0] = 0


def test_loading_again_reuses_the_decoded_dataset(mnist, mnist_dir):
    assert load_dataset("mnist", data_dir=mnist_dir, progress=False) is mnist


def test_changed_files_are_decoded_again(tiny_dir, tiny_arrays, build_idx):
    first = load_dataset("mnist", data_dir=tiny_dir, progress=False)
    (tiny_dir / "t10k-labels-idx1-ubyte.gz").write_bytes(build_idx.labels_file(np.array([4, 4], np.uint8)))
    second = load_dataset("mnist", data_dir=tiny_dir, progress=False)
    assert first.y_test.tolist() == [3, 1] and second.y_test.tolist() == [4, 4]


def test_fashion_mnist_loads_through_the_same_code():
    ds = load_dataset("fashion_mnist", data_dir=FASHION_DIR, progress=False)
    assert ds.name == "fashion_mnist" and "fashion_mnist" in DATASET_NAMES
    assert ds.x_train.shape == (60_000, 28, 28) and ds.x_test.shape == (10_000, 28, 28)
    assert ds.x_train.dtype == np.float32 and 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert np.bincount(ds.y_train).tolist() == [6_000] * 10  # Fashion-MNIST is balanced


def test_progress_line_goes_to_stderr(tiny_dir, capsys):
    load_dataset("mnist", data_dir=tiny_dir, progress=True)
    assert "reading mnist: 4/4 files" in capsys.readouterr().err


def test_unknown_dataset_names_the_known_ones(tiny_dir):
    with pytest.raises(DataError, match=r"^dataset 'cifar10': unknown; expected one of mnist, fashion_mnist, spheres$"):
        load_dataset("cifar10", data_dir=tiny_dir)


def test_missing_folder_names_the_option(tmp_path):
    expected = r"nowhere: data folder not found; point --data-dir .*ROBUSTBENCH_KERAS_DATA_DIR"
    with pytest.raises(DataError, match=expected):
        load_dataset("mnist", data_dir=tmp_path / "nowhere")


def test_missing_file_is_named(tiny_dir):
    (tiny_dir / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: missing; the mnist folder needs"):
        load_dataset("mnist", data_dir=tiny_dir)


def test_image_and_label_counts_must_agree(tiny_dir, build_idx):
    (tiny_dir / "train-labels-idx1-ubyte.gz").write_bytes(build_idx.labels_file(np.array([1, 2], np.uint8)))
    expected = r"train-images-idx3-ubyte\.gz: 3 images but train-labels-idx1-ubyte\.gz has 2 labels"
    with pytest.raises(DataError, match=expected):
        load_dataset("mnist", data_dir=tiny_dir)


def test_a_corrupt_file_in_the_folder_is_named(tiny_dir):
    path = tiny_dir / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: truncated gzip file"):
        load_dataset("mnist", data_dir=tiny_dir)


# Property: a data folder of any four IDX files loads or raises one DataError line.
LABELS = st.lists(st.integers(0, 255), max_size=4).map(lambda values: np.array(values, dtype=np.uint8))
IMAGES = st.tuples(st.integers(0, 3), st.sampled_from([(28, 28), (28, 27), (1, 28)])).map(
    lambda shape: np.zeros((shape[0], *shape[1]), dtype=np.uint8))


@hypothesis.settings(max_examples=60, deadline=None, database=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(arrays=st.fixed_dictionaries({"train_images": IMAGES, "train_labels": LABELS,
                                                "test_images": IMAGES, "test_labels": LABELS}),
                  swapped=st.booleans())
def test_a_folder_of_any_idx_files_loads_or_is_one_data_error_line(arrays, swapped, build_idx, tmp_path_factory):
    folder = tmp_path_factory.mktemp("any")
    for role, array in arrays.items():
        writer = build_idx.images_file if role.endswith("images") == (not swapped) else build_idx.labels_file
        (folder / build_idx.filenames[role]).write_bytes(writer(array))
    try:
        ds = load_dataset("mnist", data_dir=folder, progress=False)
    except DataError as error:
        assert str(error).startswith(str(folder)) and "\n" not in str(error)
    else:
        assert len(ds.x_train) == len(ds.y_train) > 0 and ds.y_test.max() < 10
