"""IDX files: gunzip, check the magic number and the header's dimensions, return the uint8 array.

The IDX format (http://yann.lecun.com/exdb/mnist/) is a 4-byte big-endian magic number
`0x0000 TT DD` (TT the element type, 0x08 for unsigned bytes; DD the number of dimensions),
then one big-endian uint32 per dimension, then the elements in C order. MNIST and
Fashion-MNIST images are `(N, 28, 28)` (magic 2051) and their labels `(N,)` (magic 2049).
"""

import gzip
import io
import math
import struct
import zlib

import numpy as np

from robustbench_keras.errors import DataError

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
IMAGE_SHAPE = (28, 28)
# The largest decompressed IDX file accepted: MNIST's training images are 47,040,016 bytes; a gzip bomb
# (a few KB that inflate to gigabytes) stops here instead of filling the memory.
MAX_DECOMPRESSED_BYTES = 64 * 2**20


def gunzip(compressed, where, max_bytes=MAX_DECOMPRESSED_BYTES):
    """Decompresses the bytes of a `.gz` file, at most `max_bytes` of output.

    Args:
        compressed: the file's bytes.
        where: the file's name, for error messages.
        max_bytes: the largest output accepted.

    Returns:
        The decompressed bytes.

    Raises:
        DataError: the bytes are not gzip, the gzip stream is truncated or corrupt, or it inflates to
            more than `max_bytes`.
    """
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
            data = stream.read(max_bytes + 1)
    except EOFError:
        raise DataError(
            f"{where}: truncated gzip file ({len(compressed):,} bytes); delete it and fetch it again"
        ) from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DataError(f"{where}: not a valid gzip file ({error}); replace it with the original") from None
    if len(data) > max_bytes:
        raise DataError(
            f"{where}: decompresses to more than {max_bytes:,} bytes, larger than any MNIST-format file; "
            "replace it with the original"
        )
    return data


def parse_idx(data, magic, where):
    """Parses the bytes of an uncompressed IDX file of unsigned bytes.

    Args:
        data: the IDX bytes.
        magic: the expected magic number (`IMAGES_MAGIC` or `LABELS_MAGIC`).
        where: the file's name, for error messages.

    Returns:
        A read-only uint8 array with the header's dimensions, in file order.

    Raises:
        DataError: wrong magic number, or the header's dimensions do not match the byte count.
    """
    if len(data) < 4:
        raise DataError(f"{where}: truncated IDX data: {len(data)} bytes, shorter than the 4-byte magic number")
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        raise DataError(
            f"{where}: wrong IDX magic number: expected {magic} (0x{magic:08x}), got {found} (0x{found:08x}); "
            "is it the right file?"
        )
    num_dims = magic & 0xFF
    header_size = 4 + 4 * num_dims
    if len(data) < header_size:
        raise DataError(f"{where}: truncated IDX header: expected {header_size} bytes, got {len(data)}")
    dims = struct.unpack(f">{num_dims}I", data[4:header_size])
    expected = math.prod(dims)  # Python integers: a hostile header cannot overflow
    found_size = len(data) - header_size
    if found_size != expected:
        problem = "truncated data" if found_size < expected else "trailing bytes"
        raise DataError(
            f"{where}: {problem}: header dimensions {'x'.join(map(str, dims))} need {expected:,} bytes "
            f"after the header, file has {found_size:,}"
        )
    array = np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(dims)
    array.flags.writeable = False  # a view of immutable bytes
    return array


def parse_images(data, where):
    """Parses uncompressed IDX image bytes into uint8 `(N, 28, 28)`.

    Raises:
        DataError: as `parse_idx`, or images that are not 28 x 28.
    """
    images = parse_idx(data, IMAGES_MAGIC, where)
    if images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{where}: expected 28x28 images, got {images.shape[1]}x{images.shape[2]}")
    return images


def parse_labels(data, where):
    """Parses uncompressed IDX label bytes into uint8 `(N,)`.

    Raises:
        DataError: as `parse_idx`.
    """
    return parse_idx(data, LABELS_MAGIC, where)
