"""Atomic writes: new files get the umask's mode, a failure leaves the old content and no temporary file."""

import errno
import os
import stat
import time

import pytest

from robustbench_keras import atomic
from robustbench_keras.atomic import atomic_write, atomic_write_text
from robustbench_keras.errors import OutputError


@pytest.fixture
def umask():
    """Sets the umask to 022 for the test (the usual one), restoring the caller's afterwards."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_mode_0644_under_umask_022_and_follows_the_umask(tmp_path, umask):
    path = atomic_write_text(tmp_path / "out.json", "{}\n")
    assert path.read_text() == "{}\n" and _mode(path) == 0o644
    os.umask(0o077)
    atomic_write_text(tmp_path / "private.json", "{}\n")
    assert _mode(tmp_path / "private.json") == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "private.json"]


def test_a_replaced_file_gets_the_new_content_and_the_umask_mode(tmp_path, umask):
    path = tmp_path / "out.txt"
    path.write_text("old")
    path.chmod(0o600)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o644


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_content_and_leaves_no_temporary_file(tmp_path, error):
    path = tmp_path / "out.txt"
    path.write_text("old")

    def write_half(temporary):
        temporary.write_text("half of the n")
        raise error

    with pytest.raises(type(error)):
        atomic_write(path, write_half)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_the_writer_gets_an_empty_file_in_the_same_folder_with_the_suffix(tmp_path):
    seen = []

    def write(temporary):
        seen.append((temporary.parent, temporary.name, temporary.read_bytes()))
        temporary.write_bytes(b"\x00\x01")

    atomic_write(tmp_path / "model.keras", write, suffix=".keras")
    (folder, name, content), = seen
    assert folder == tmp_path and name.startswith(".model.keras.") and name.endswith(".tmp.keras")
    assert content == b"" and (tmp_path / "model.keras").read_bytes() == b"\x00\x01"


def test_a_missing_folder_is_an_error_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "nowhere" / "out.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rename_leaves_no_temporary_file(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path / "taken", "x")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS])
def test_a_full_disk_is_one_output_error_line_and_the_old_file_stays(tmp_path, number):
    path = atomic_write_text(tmp_path / "leaderboard.json", "old\n")

    def fill_the_disk(temporary):
        temporary.write_text("half of the new")
        raise OSError(number, os.strerror(number))

    with pytest.raises(OutputError) as raised:
        atomic_write(path, fill_the_disk)
    assert str(raised.value) == (f"{path}: cannot be written ({os.strerror(number)}); the previous file is "
                                 "unchanged. Free some space or fix the folder's permissions, then run the command again")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["leaderboard.json"]


def test_other_os_errors_keep_their_traceback(tmp_path):
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path / "file", lambda temporary: (_ for _ in ()).throw(IsADirectoryError(errno.EISDIR, "x")))
    assert list(tmp_path.iterdir()) == []


def test_a_write_removes_a_killed_writers_stale_temporary_and_keeps_a_fresh_one(tmp_path):
    stale = tmp_path / ".leaderboard.json.0123456789abcdef.tmp"
    fresh = tmp_path / ".leaderboard.json.fedcba9876543210.tmp"
    other = tmp_path / ".tables.md.0123456789abcdef.tmp"
    for leftover in (stale, fresh, other):
        leftover.write_text("half")
    long_ago = time.time() - atomic.STALE_AFTER_S - 60
    for old in (stale, other):
        os.utime(old, (long_ago, long_ago))
    atomic_write_text(tmp_path / "leaderboard.json", "{}")
    assert not stale.exists()
    assert fresh.exists() and other.exists()  # a live writer's file, another target's file
