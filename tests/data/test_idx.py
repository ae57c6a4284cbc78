"""IDX parsing against tiny hand-built files, and every corruption error with its message."""

import gzip
import struct

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st

from robustbench_keras.data import idx
from robustbench_keras.errors import DataError


def test_parse_images_returns_header_shape_in_file_order(build_idx):
    payload = np.arange(2 * 28 * 28) % 256
    data = build_idx.idx_bytes(2051, (2, 28, 28), payload.astype(np.uint8).tobytes())
    images = idx.parse_images(data, "x.gz")
    assert images.dtype == np.uint8 and images.shape == (2, 28, 28)
    assert images[0, 0, :5].tolist() == [0, 1, 2, 3, 4]
    assert images[1, 0, 0] == (28 * 28) % 256  # the second image starts right after the first
    np.testing.assert_array_equal(images.reshape(-1), payload)


def test_parse_labels_reads_one_byte_per_label(build_idx):
    labels = idx.parse_labels(build_idx.idx_bytes(2049, (4,), [9, 0, 3, 255]), "y.gz")
    assert labels.tolist() == [9, 0, 3, 255] and labels.dtype == np.uint8


def test_parsed_arrays_are_read_only(build_idx):
    labels = idx.parse_labels(build_idx.idx_bytes(2049, (2,), [1, 2]), "y.gz")
    with pytest.raises(ValueError):
        labels[0] = 5


def test_gunzip_round_trip():
    assert idx.gunzip(gzip.compress(b"\x00\x00\x08\x01abc"), "f.gz") == b"\x00\x00\x08\x01abc"


def test_truncated_gzip_is_refused(build_idx):
    compressed = build_idx.labels_file(np.arange(100, dtype=np.uint8))
    with pytest.raises(DataError, match=r"^labels\.gz: truncated gzip file"):
        idx.gunzip(compressed[: len(compressed) // 2], "labels.gz")


def test_non_gzip_bytes_are_refused():
    with pytest.raises(DataError, match=r"^plain\.gz: not a valid gzip file"):
        idx.gunzip(b"this is not gzip at all", "plain.gz")


def test_corrupt_gzip_stream_is_refused(build_idx):
    compressed = bytearray(build_idx.images_file(np.full((2, 28, 28), 7, dtype=np.uint8)))
    compressed[12:20] = b"\xff" * 8  # inside the deflate stream
    with pytest.raises(DataError, match=r"^img\.gz: (not a valid gzip file|truncated gzip file)"):
        idx.gunzip(bytes(compressed), "img.gz")


def test_wrong_magic_is_refused(build_idx):
    labels_as_images = build_idx.idx_bytes(2049, (3,), [1, 2, 3])
    with pytest.raises(DataError, match=r"^img\.gz: wrong IDX magic number: expected 2051 \(0x00000803\), got 2049"):
        idx.parse_images(labels_as_images, "img.gz")


def test_header_promising_more_than_present_is_truncated_data(build_idx):
    data = build_idx.idx_bytes(2051, (3, 28, 28), bytes(2 * 28 * 28))
    expected = r"^img\.gz: truncated data: header dimensions 3x28x28 need 2,352 bytes .* has 1,568"
    with pytest.raises(DataError, match=expected):
        idx.parse_images(data, "img.gz")


def test_bytes_beyond_the_header_dimensions_are_refused(build_idx):
    data = build_idx.idx_bytes(2049, (3,), [1, 2, 3, 4])
    with pytest.raises(DataError, match=r"^y\.gz: trailing bytes: header dimensions 3 need 3 bytes .* has 4"):
        idx.parse_labels(data, "y.gz")


def test_truncated_header_is_refused():
    with pytest.raises(DataError, match=r"^y\.gz: truncated IDX header: expected 8 bytes, got 6"):
        idx.parse_labels(b"\x00\x00\x08\x01\x00\x00", "y.gz")
    with pytest.raises(DataError, match=r"^y\.gz: truncated IDX data: 2 bytes"):
        idx.parse_labels(b"\x00\x00", "y.gz")


def test_images_that_are_not_28_by_28_are_refused(build_idx):
    data = build_idx.idx_bytes(2051, (1, 27, 28), bytes(27 * 28))
    with pytest.raises(DataError, match=r"^img\.gz: expected 28x28 images, got 27x28"):
        idx.parse_images(data, "img.gz")


# Property: any header and body parse or raise one DataError line — never another exception.
IDX_FILES = st.one_of(
    st.binary(max_size=64),
    st.builds(lambda magic, dims, body: struct.pack(f">I{len(dims)}I", magic, *dims) + body,
              st.sampled_from([idx.IMAGES_MAGIC, idx.LABELS_MAGIC]) | st.integers(0, 2**32 - 1),
              st.lists(st.sampled_from([0, 1, 2, 27, 28, 2**31, 2**32 - 1]) | st.integers(0, 2**32 - 1), max_size=4),
              st.binary(max_size=2 * 28 * 28 + 3)),
)


@hypothesis.settings(max_examples=200, deadline=None, database=None)
@hypothesis.given(data=IDX_FILES, images=st.booleans())
def test_any_idx_bytes_parse_or_are_one_data_error_line(data, images):
    parse = idx.parse_images if images else idx.parse_labels
    try:
        array = parse(data, "f.gz")
    except DataError as error:
        assert str(error).startswith("f.gz: ") and "\n" not in str(error)
    else:
        assert array.dtype == np.uint8 and array.nbytes == len(data) - 4 - 4 * array.ndim


@hypothesis.settings(max_examples=100, deadline=None, database=None)
@hypothesis.given(data=st.binary(max_size=64) | IDX_FILES.map(gzip.compress), cut=st.integers(0, 80))
def test_any_gz_bytes_gunzip_or_are_one_data_error_line(data, cut):
    try:
        idx.gunzip(data[:cut] if cut < len(data) else data, "f.gz")
    except DataError as error:
        assert str(error).startswith("f.gz: ") and "\n" not in str(error)


def test_a_gzip_bomb_is_refused_before_it_fills_the_memory():
    bomb = gzip.compress(bytes(10_000_000))  # ~10 KB that inflate to 10 MB
    with pytest.raises(DataError, match="decompresses to more than 1,000,000 bytes"):
        idx.gunzip(bomb, "bomb.gz", max_bytes=1_000_000)
    assert len(idx.gunzip(bomb, "bomb.gz")) == 10_000_000  # under the default cap
