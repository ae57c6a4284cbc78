"""The data fingerprint every result carries: which files were read, whether they are the official ones,
and the sha256 of each decoded array.

A file counts as official when its decompressed IDX bytes are the official ones: the arrays depend on
those bytes only, whereas the gzip wrapper differs between byte-identical re-packings (Debian's
Fashion-MNIST package re-compressed the official files). `sha256` against `official_sha256` still tells
whether the `.gz` itself is the file as served. The local MNIST training images in ../shared are a
reconstruction, so their fingerprint says `official: false`.
"""

import hashlib

ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")


def sha256_hex(data):
    """sha256 hex digest of bytes, or of a C-contiguous array's bytes."""
    return hashlib.sha256(data).hexdigest()


def file_record(compressed, content, official_file):
    """The fingerprint entry of one file.

    Args:
        compressed: the `.gz` file's bytes.
        content: its decompressed IDX bytes.
        official_file: its `sources.OfficialFile`.

    Returns:
        dict with `sha256`, `official_sha256` (of the `.gz`), `content_sha256`,
        `official_content_sha256` (of the IDX bytes) and `official` (the IDX bytes are the official ones).
    """
    content_sha256 = sha256_hex(content)
    return {
        "sha256": sha256_hex(compressed),
        "official_sha256": official_file.sha256,
        "content_sha256": content_sha256,
        "official_content_sha256": official_file.content_sha256,
        "official": content_sha256 == official_file.content_sha256,
    }


def dataset_fingerprint(name, source, files, arrays):
    """Builds a dataset's JSON-able fingerprint.

    Args:
        name: the dataset's name, e.g. "mnist".
        source: "local" or "tensorflow-datasets".
        files: dict filename -> `file_record(...)`.
        arrays: dict with the C-contiguous arrays named in `ARRAY_NAMES`.

    Returns:
        dict with `dataset`, `source`, `files`, `arrays` (name -> sha256 of the array's bytes) and `id`:
        the first 16 hex digits of the sha256 of the four array hashes joined in `ARRAY_NAMES` order.
    """
    array_hashes = {key: sha256_hex(arrays[key]) for key in ARRAY_NAMES}
    return {
        "dataset": name,
        "source": source,
        "files": files,
        "arrays": array_hashes,
        "id": hashlib.sha256("".join(array_hashes[key] for key in ARRAY_NAMES).encode()).hexdigest()[:16],
    }
