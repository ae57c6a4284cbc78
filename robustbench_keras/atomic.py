"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The new content goes to a temporary file in the target's folder, which is fsynced and renamed over the
target; the folder is fsynced too, so the rename survives a crash. The temporary file is created with
mode 0o666 less the process umask, like any new file (0644 under the usual umask 022), and removed if
anything fails, leaving the old file intact. A writer killed outright (SIGKILL, power loss) cannot
remove its temporary file; the next successful write of the same target removes such leftovers once
they are `STALE_AFTER_S` old, so a live concurrent writer's file is never taken. A full disk, a quota, a read-only filesystem or a folder
without write permission is an `OutputError` (one line); any other failure keeps its traceback.
"""

import errno
import glob
import os
import secrets
import time
from pathlib import Path

from robustbench_keras.errors import OutputError

# A full disk or quota, a read-only filesystem, a folder without write permission: the user can fix them.
USER_FIXABLE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})
# A temporary file untouched this long belongs to a killed writer: the slowest write (a model save) takes seconds.
STALE_AFTER_S = 600


def _fsync(path, flags=os.O_RDONLY):
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def atomic_write(path, write_fn, suffix=""):
    """Calls `write_fn(temporary_path)`, then atomically renames the temporary file onto `path`.

    Args:
        path: the file to write; its folder must exist.
        write_fn: writes the whole content to the `pathlib.Path` it is given (the file exists, empty).
        suffix: ends the temporary file's name `.<name>.<random>.tmp<suffix>`, for writers that insist
            on one (Keras's `model.save` wants ".keras").

    Returns:
        `path` as a `pathlib.Path`.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp{suffix}")
    try:
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # the umask applies
        write_fn(temporary)
        _fsync(temporary)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        if error.errno in USER_FIXABLE_ERRNOS:
            raise OutputError(
                f"{path}: cannot be written ({os.strerror(error.errno)}); the previous file is unchanged. "
                "Free some space or fix the folder's permissions, then run the command again"
            ) from None
        raise
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync(path.parent.absolute(), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    _remove_stale_temporaries(path)
    return path


def _remove_stale_temporaries(path):
    """Removes the temporary files of earlier writes of `path` untouched for `STALE_AFTER_S` seconds."""
    now = time.time()
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp*"):
        try:
            if now - leftover.stat().st_mtime > STALE_AFTER_S:
                leftover.unlink()
        except OSError:  # gone already, or not ours to remove: the write itself succeeded
            continue


def atomic_write_text(path, text):
    """Atomically replaces the file at `path` with `text` (UTF-8); returns `path` as a `pathlib.Path`."""
    return atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
