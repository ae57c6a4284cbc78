"""A submitted file's bytes inspected before Keras sees them: its kind, its archive entries, its config.json.

The central directory is checked first, then `config.json` is read and every entry streamed through
its CRC check, so a hostile archive is refused before anything large is read into memory or written. Refused, each with a one-line `ModelError`:

- legacy HDF5 files, pickles (never unpickled), files that are not zip archives, damaged archives
  (a bad directory, an entry failing its CRC, an unknown compression method, encryption);
- archives whose entries declare more than `max_size_bytes` unpacked, or more than `MAX_EXPANSION`
  times the file's size (a zip bomb; zipfile never yields more than an entry declares);
- more than `MAX_ENTRIES` entries, an entry with an absolute or `..` path, an entry named twice
  (Keras and an unzip tool might not pick the same copy), a zip of pickles;
- a `config.json` above `MAX_CONFIG_BYTES`, not JSON, nested deeper than `MAX_CONFIG_DEPTH`, or not
  the description of a Keras object.
"""

import io
import json
import os
import pickletools
import zipfile
import zlib
from pathlib import PurePosixPath, PureWindowsPath

from robustbench_keras.errors import ModelError

CONFIG_NAME = "config.json"
MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_CONFIG_DEPTH = 200  # a Keras model's config nests ~10 levels per nested model
MAX_ENTRIES = 1000  # a .keras archive holds config.json, metadata.json, the weights and its assets
MAX_EXPANSION = 100  # Keras stores entries uncompressed; deflate gains ~10x on zero weights
EXPANSION_FLOOR_BYTES = 1024 * 1024  # tiny archives may compress well
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
PICKLE_PROTOCOL_OPCODE = 0x80
PICKLE_PROTOCOLS_WITH_MAGIC = range(2, 6)
CONVERT_HINT = 'convert it where it was built: keras.saving.load_model("model.h5").save("model.keras")'
RESAVE_HINT = "save the model with model.save('model.keras')"
# What zipfile raises on a damaged archive: a bad central directory or CRC, an unknown compression
# method, an encrypted entry, a truncated or corrupt deflate stream.
ZIP_ERRORS = (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError, zlib.error, ValueError)


def read_config(path, copy, max_size_bytes):
    """Checks the kind and the archive of `copy` (the private copy of `path`); returns its parsed `config.json`.

    Raises:
        ModelError: naming `path`, what is wrong and the fix (see the module docstring).
    """
    with open(copy, "rb") as stream:
        head = stream.read(len(HDF5_SIGNATURE))
    if head.startswith(HDF5_SIGNATURE):
        raise ModelError(f"{path}: legacy HDF5 (.h5) model files are not accepted; {CONVERT_HINT}")
    if _is_pickle(copy, head):
        raise ModelError(f"{path}: is a Python pickle, refused without being opened (unpickling runs arbitrary "
                         f"code); {RESAVE_HINT}")
    if not zipfile.is_zipfile(copy):
        raise ModelError(f"{path}: not a model file (expected a .keras zip archive with {CONFIG_NAME}); {RESAVE_HINT}")
    try:
        with zipfile.ZipFile(copy) as archive:
            _check_entries(path, archive.infolist(), os.path.getsize(copy), max_size_bytes)
            text = archive.read(CONFIG_NAME)
            damaged = archive.testzip()  # streams every entry through its CRC; sizes are bounded above
    except ZIP_ERRORS as error:
        raise ModelError(f"{path}: damaged zip archive ({type(error).__name__}: {_first_line(error)}); "
                         f"{RESAVE_HINT}") from None
    if damaged is not None:
        raise ModelError(f"{path}: damaged zip archive (entry '{damaged}' fails its CRC check); {RESAVE_HINT}")
    return _parse_config(path, text)


def _check_entries(path, members, file_size, max_size_bytes):
    """Refuses an archive by its central directory alone (names, count and declared sizes)."""
    if len(members) > MAX_ENTRIES:
        raise ModelError(f"{path}: archive has {len(members):,} entries, more than {MAX_ENTRIES:,}; not a model file")
    names = [member.filename for member in members]
    for name in names:
        if _escapes(name):
            raise ModelError(f"{path}: archive entry '{name}' has an absolute or '..' path; refused, {RESAVE_HINT}")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ModelError(f"{path}: archive entry '{duplicates[0]}' appears twice; refused, {RESAVE_HINT}")
    if any(name.endswith((".pkl", ".pickle")) for name in names):
        raise ModelError(f"{path}: is a zip of Python pickles (e.g. a PyTorch checkpoint), refused without being "
                         f"opened; submit a Keras model saved with model.save('model.keras')")
    if CONFIG_NAME not in names:
        raise ModelError(f"{path}: not a model file (a zip archive without {CONFIG_NAME}); {RESAVE_HINT}")
    unpacked = sum(member.file_size for member in members)
    check_size(path, unpacked, max_size_bytes, "archive unpacks to")
    if unpacked > max(MAX_EXPANSION * file_size, EXPANSION_FLOOR_BYTES):
        raise ModelError(f"{path}: archive unpacks to {format_size(unpacked)} from {format_size(file_size)}, more "
                         f"than {MAX_EXPANSION}x its size (a zip bomb?); refused, {RESAVE_HINT}")
    config_size = next(member.file_size for member in members if member.filename == CONFIG_NAME)
    if config_size > MAX_CONFIG_BYTES:
        raise ModelError(f"{path}: {CONFIG_NAME} is above {MAX_CONFIG_BYTES / 1e6:.0f} MB; not a plain model")


def _escapes(name):
    """True for an entry name that is absolute (POSIX or Windows) or climbs out with '..'."""
    windows = PureWindowsPath(name)
    return (name.startswith(("/", "\\")) or bool(windows.drive)
            or ".." in PurePosixPath(name).parts or ".." in windows.parts)


def _parse_config(path, text):
    try:
        config = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelError(f"{path}: {CONFIG_NAME} is not valid JSON ({_first_line(error)}); re-save with "
                         "model.save") from None
    if _depth(config) > MAX_CONFIG_DEPTH:
        raise ModelError(f"{path}: {CONFIG_NAME} nests deeper than {MAX_CONFIG_DEPTH} levels; not a plain model")
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelError(f"{path}: {CONFIG_NAME} does not describe a Keras object; re-save with model.save")
    return config


def _depth(root):
    """How deep lists and dicts nest in `root`, counted without recursion."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _is_pickle(copy, head):
    """True for a pickle stream, decided by parsing opcodes only (`pickletools` never executes them)."""
    if len(head) >= 2 and head[0] == PICKLE_PROTOCOL_OPCODE and head[1] in PICKLE_PROTOCOLS_WITH_MAGIC:
        return True
    if zipfile.is_zipfile(copy):
        return False
    # Protocols 0 and 1 have no magic: a stream that disassembles cleanly up to STOP is a pickle. It is read
    # from memory (the file is within the size limit): a damaged length field asks `pickletools` to read up to
    # 2**64 bytes, which a file object would try to allocate, and a BytesIO answers with what there is.
    with open(copy, "rb") as stream:
        data = stream.read()
    with open(os.devnull, "w") as sink:
        try:
            pickletools.dis(io.BytesIO(data), out=sink)
        except (ValueError, EOFError, UnicodeDecodeError, IndexError):
            return False
    return True


def check_size(path, num_bytes, max_size_bytes, what="file is"):
    """Refuses `num_bytes` above `max_size_bytes` (ModelError naming the limit option)."""
    if num_bytes > max_size_bytes:
        raise ModelError(
            f"{path}: {what} {format_size(num_bytes)}, above the {format_size(max_size_bytes)} limit; "
            "submit a smaller model or raise the limit (--max-model-size-mb)"
        )


def format_size(num_bytes):
    """"12.3 MB" from 100 kB up, else "1234 bytes"."""
    return f"{num_bytes / 1e6:.1f} MB" if num_bytes >= 100_000 else f"{num_bytes} bytes"


def _first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__
