"""Runs killed with SIGKILL, damaged files and a full disk: the next run ends as an uninterrupted one."""

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robustbench_keras import atomic
from robustbench_keras.cli.main import main

COMPARE = Path(__file__).parents[2] / "scripts" / "compare_leaderboards.py"


@pytest.fixture(scope="module")
def reference(tmp_path_factory, nano_writer, cli):
    """One uninterrupted fresh run of the nano suite: its folder (suite, out/, cache/)."""
    folder = tmp_path_factory.mktemp("reference")
    cli("run", nano_writer(folder), "--quiet", check=True)
    return folder


def same_numbers(reference, folder):
    """Whether two leaderboards agree, timings, paths and file hashes aside (scripts/compare_leaderboards.py)."""
    result = subprocess.run([sys.executable, COMPARE, reference / "out" / "leaderboard.json",
                             folder / "out" / "leaderboard.json"], capture_output=True, text=True, timeout=60)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0 or print(result.stdout)


def kill_when(process, seen):
    """Reads `process`'s stderr until `seen(line)`, then kills it with SIGKILL."""
    for line in process.stderr:
        if seen(line):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"


def kill_on_file(process, pattern, folder):
    """Kills `process` with SIGKILL as soon as a file matching `pattern` appears under `folder`."""
    while process.poll() is None and not list(folder.glob(pattern)):
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"


def test_killed_while_training_the_next_run_is_a_fresh_run_with_the_same_numbers(reference, nano_writer, launch,
                                                                                 cli_in_process, tmp_path):
    """Also the determinism test: the reference and this rerun both start from no model and no output."""
    suite = nano_writer(tmp_path)
    kill_when(launch("run", suite), lambda line: line.startswith("training "))
    assert not list((tmp_path / "cache").glob("*.keras"))  # killed before any model was cached
    again = cli_in_process("run", suite, check=True)
    assert "training fc10_wd1e-4" in again.stderr and "note:" not in again.stderr
    assert same_numbers(reference, tmp_path)


def test_killed_while_attacking_the_next_run_resumes_and_ends_the_same(reference, nano_writer, launch, cli_in_process,
                                                                       tmp_path):
    suite = nano_writer(tmp_path)
    shutil.copytree(reference / "cache", tmp_path / "cache")  # trained: only the attack is left
    kill_on_file(launch("run", suite), "out/records/*/chunk_0000.npz", tmp_path)  # one of four examples done
    assert not list((tmp_path / "out" / "records").glob("*.npz"))  # killed before the merged records
    assert (tmp_path / "out" / "run.lock").exists()  # the killed run's lock, reclaimed below
    again = cli_in_process("run", suite, check=True)
    assert "attacking fc10_wd1e-4" in again.stderr and "training" not in again.stderr
    assert same_numbers(reference, tmp_path)


def test_a_damaged_chunk_file_is_redone_with_a_note(reference, nano_writer, cli_in_process, tmp_path):
    suite = nano_writer(tmp_path)
    shutil.copytree(reference / "out", tmp_path / "out")
    shutil.copytree(reference / "cache", tmp_path / "cache")
    (merged,) = (tmp_path / "out" / "records").glob("*.npz")
    chunk = merged.with_suffix("") / "chunk_0001.npz"
    merged.unlink()
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    again = cli_in_process("run", suite, check=True)
    assert f"note: {chunk}: expected an attack records .npz" in again.stderr
    assert "deleted, the attack is redone" in again.stderr and "training" not in again.stderr
    assert same_numbers(reference, tmp_path)


def test_a_full_disk_ends_in_one_line_and_leaves_every_file_as_it_was(reference, nano_writer, tmp_path, capsys,
                                                                      monkeypatch):
    suite = nano_writer(tmp_path)
    shutil.copytree(reference / "out", tmp_path / "out")
    shutil.copytree(reference / "cache", tmp_path / "cache")
    next((tmp_path / "out" / "records").glob("*.npz")).unlink()  # the run must write the merged records again
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}

    def no_space(path, flags=os.O_RDONLY):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic, "_fsync", no_space)
    assert main(["run", str(suite), "--quiet"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("robustbench_keras: error: ") and "No space left on device" in error
    assert len(error.splitlines()) == 1 and "the previous file is unchanged" in error
    after = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert after == before
