"""The leaderboard store: schema validation, refusal of bad files, atomic writes, file lock."""

import copy
import json
import os
import select
import signal
import stat
import subprocess
import sys

import filelock
import pytest

from robustbench_keras.errors import LeaderboardError
from robustbench_keras.leaderboard import store


# Child processes import the store without the package `__init__`, which imports TensorFlow
# (seconds per process on a loaded machine) that the store never uses.
CHILD_PRELUDE = f"""
import sys, types
package = types.ModuleType("robustbench_keras")
package.__path__ = [{os.path.dirname(os.path.dirname(store.__file__))!r}]
sys.modules["robustbench_keras"] = package
"""


def _leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def test_example_document_round_trips(tmp_path, document):
    path = tmp_path / "board.json"
    store.write_leaderboard(path, document)
    assert store.load_leaderboard(path) == document
    assert _leftovers(tmp_path) == []


def test_schema_is_draft_2020_12_with_version():
    schema = store.load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema_version"] == {"const": store.SCHEMA_VERSION}


@pytest.mark.parametrize("change, where", [
    (lambda d: d["entries"][0]["clean_errors"].update(test=1.5), r"\$\.entries\[0\]\.clean_errors\.test"),
    (lambda d: d["entries"][0]["clean_errors"].update(test="7.5%"), r"\$\.entries\[0\]\.clean_errors\.test"),
    (lambda d: d.update(schema_version="0.9"), r"\$\.schema_version"),
    (lambda d: d["entries"][0].update(id="bad id/with slash"), r"\$\.entries\[0\]\.id"),
    (lambda d: d["entries"][0].pop("checkpoint_sha256"), r"\$\.entries\[0\]"),
    (lambda d: d["entries"][0]["min_distortion"]["train"].update(mean=float("nan")),
     r"\$\.entries\[0\]\.min_distortion\.train\.mean: expected a finite number"),
    (lambda d: d["entries"][3].pop("submission"), r"\$\.entries\[3\]"),
    (lambda d: d["entries"][0].update(submission=d["entries"][3]["submission"]), r"\$\.entries\[0\]"),
    (lambda d: d["entries"][1].update(id="fc10_wd1e-4"), r"\$\.entries\[1\]\.id: 'fc10_wd1e-4' appears twice"),
    (lambda d: d["entries"][1].update(checkpoint_sha256=d["entries"][0]["checkpoint_sha256"]),
     r"\$\.entries\[1\]\.checkpoint_sha256: .* appears twice"),
    (lambda d: d["entries"][2]["transfer"]["magnified"].update(mode="x10"), r"\$\.entries\[2\]\.transfer\.magnified\.mode"),
    (lambda d: d["table5"]["layers"][0].update(stride=0), r"\$\.table5\.layers\[0\]\.stride"),
])
def test_invalid_document_is_refused_naming_file_and_path(tmp_path, document, change, where):
    change(document)
    path = tmp_path / "board.json"
    with pytest.raises(LeaderboardError, match=rf"^{tmp_path}/board\.json: {where}"):
        store.write_leaderboard(path, document)
    assert not path.exists()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("content", [
    b'{"schema_version": "1.0", "entries": [',        # truncated
    b"\x00\xff\xfe garbage",                            # not text
    b'{"schema_version": "1.0", "x": NaN}',           # NaN is not JSON
])
def test_corrupt_file_is_refused_and_left_byte_identical(leaderboard_path, content, document, make_entry):
    leaderboard_path.write_bytes(content)
    with pytest.raises(LeaderboardError, match=rf"^{leaderboard_path}: corrupt leaderboard, expected JSON"):
        store.load_leaderboard(leaderboard_path)
    with pytest.raises(LeaderboardError, match="corrupt leaderboard"):
        store.write_leaderboard(leaderboard_path, document)
    with pytest.raises(LeaderboardError, match="corrupt leaderboard"):
        store.add_entry(leaderboard_path, make_entry(0))
    with pytest.raises(LeaderboardError, match="corrupt leaderboard"):
        store.remove_entry(leaderboard_path, "fc10_wd1e-4")
    assert leaderboard_path.read_bytes() == content


def test_schema_invalid_file_is_refused_and_left_byte_identical(leaderboard_path, document, make_entry):
    bad = copy.deepcopy(document)
    bad["entries"][1]["clean_errors"]["train"] = -0.1
    leaderboard_path.write_text(json.dumps(bad))
    before = leaderboard_path.read_bytes()
    with pytest.raises(LeaderboardError, match=r"\$\.entries\[1\]\.clean_errors\.train: -0\.1 is less than"):
        store.load_leaderboard(leaderboard_path)
    with pytest.raises(LeaderboardError, match=r"\$\.entries\[1\]\.clean_errors\.train"):
        store.write_leaderboard(leaderboard_path, document)
    with pytest.raises(LeaderboardError, match=r"\$\.entries\[1\]\.clean_errors\.train"):
        store.add_entry(leaderboard_path, make_entry(0))
    assert leaderboard_path.read_bytes() == before


def test_nan_statistics_become_null_and_validate(tmp_path, document):
    summary = document["entries"][0]["min_distortion"]["train"]
    summary.update(num_success=0, success_rate=0.0, mean=float("nan"), median=float("nan"), p90=float("inf"),
                   ci95=[float("nan"), float("nan")])
    cleaned = store.nan_to_null(document)
    assert cleaned["entries"][0]["min_distortion"]["train"]["ci95"] == [None, None]
    assert cleaned["entries"][0]["min_distortion"]["train"]["p90"] is None
    store.write_leaderboard(tmp_path / "board.json", cleaned)
    assert store.load_leaderboard(tmp_path / "board.json") == cleaned


def test_missing_file_is_reported():
    with pytest.raises(LeaderboardError, match="^/nonexistent/board.json: no leaderboard file here"):
        store.load_leaderboard("/nonexistent/board.json")


def test_add_entry_appends_and_refuses_same_id_or_checkpoint(leaderboard_path, make_entry):
    store.add_entry(leaderboard_path, make_entry(0))
    assert [e["id"] for e in store.load_leaderboard(leaderboard_path)["entries"]][-1] == "model_0"
    before = leaderboard_path.read_bytes()
    same_id = make_entry(1) | {"id": "model_0"}
    with pytest.raises(LeaderboardError, match=r"entry 'model_0': the id is already on the leaderboard .*--update"):
        store.add_entry(leaderboard_path, same_id)
    same_checkpoint = make_entry(0) | {"id": "renamed"}
    with pytest.raises(LeaderboardError, match=r"the checkpoint sha256 0{12}… is already on the leaderboard as entry 'model_0'"):
        store.add_entry(leaderboard_path, same_checkpoint)
    assert leaderboard_path.read_bytes() == before


def test_add_entry_with_replace_replaces_in_place(leaderboard_path, document):
    replacement = copy.deepcopy(document["entries"][1])
    replacement["clean_errors"]["test"] = 0.5
    written = store.add_entry(leaderboard_path, replacement, replace=True)
    assert [e["id"] for e in written["entries"]] == [e["id"] for e in document["entries"]]
    assert store.load_leaderboard(leaderboard_path)["entries"][1]["clean_errors"]["test"] == 0.5


def test_with_entry_is_the_pure_change_add_entry_makes(document, make_entry):
    before = copy.deepcopy(document)
    added = store.with_entry(document, make_entry(0))
    assert document == before  # not modified
    assert [e["id"] for e in added["entries"]] == [e["id"] for e in document["entries"]] + ["model_0"]
    assert {key: value for key, value in added.items() if key != "entries"} == {
        key: value for key, value in document.items() if key != "entries"}
    replacement = copy.deepcopy(document["entries"][1]) | {"seed": 5}
    replaced = store.with_entry(document, replacement, replace=True)
    assert [e["id"] for e in replaced["entries"]] == [e["id"] for e in document["entries"]]
    assert replaced["entries"][1]["seed"] == 5 and document["entries"][1]["seed"] == 0
    with pytest.raises(LeaderboardError, match=r"^out/board\.json: entry 'fc100_100_10': the id is already"):
        store.with_entry(document, replacement, where="out/board.json")


def test_writes_leave_only_the_leaderboard_with_mode_0644(tmp_path, document, make_entry):
    path = tmp_path / "leaderboard.json"
    previous = os.umask(0o022)
    try:
        store.write_leaderboard(path, document)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        store.add_entry(path, make_entry(0))
        store.remove_entry(path, "model_0")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    finally:
        os.umask(previous)
    assert os.listdir(tmp_path) == ["leaderboard.json"]  # no lock file, no temporary file
    assert store.load_leaderboard(path) == document


def test_remove_entry(leaderboard_path, document):
    store.remove_entry(leaderboard_path, "my_cnn")
    assert [e["id"] for e in store.load_leaderboard(leaderboard_path)["entries"]] == [
        e["id"] for e in document["entries"][:3]]
    with pytest.raises(LeaderboardError, match="no entry 'my_cnn', expected one of: fc10_wd1e-4, fc100_100_10, "):
        store.remove_entry(leaderboard_path, "my_cnn")


def test_failed_change_leaves_file_untouched(leaderboard_path):
    before = leaderboard_path.read_bytes()

    def break_it(document):
        document["entries"][0]["seed"] = -1
        return document

    with pytest.raises(LeaderboardError, match=r"\$\.entries\[0\]\.seed"):
        store.update_leaderboard(leaderboard_path, break_it)
    assert leaderboard_path.read_bytes() == before
    assert _leftovers(leaderboard_path.parent) == []


def test_held_lock_times_out_with_clear_error(leaderboard_path, make_entry):
    before = leaderboard_path.read_bytes()
    with filelock.FileLock(f"{leaderboard_path}.lock"):
        with pytest.raises(LeaderboardError, match=r"could not lock .*board\.json\.lock within 0\.2 s"):
            store.add_entry(leaderboard_path, make_entry(0), timeout_s=0.2)
    assert leaderboard_path.read_bytes() == before


# Each writer sleeps between reading the file and writing it back, so without the lock the
# eight read-modify-write cycles would overlap and all but a few entries would be lost.
WRITER = """
import json, os, sys, time
from robustbench_keras.leaderboard import store
path, go, entry = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
read = store._read
def slow_read(path):
    document = read(path)
    time.sleep(0.2)
    return document
store._read = slow_read
while not os.path.exists(go):
    time.sleep(0.005)
store.add_entry(path, entry)
"""


def test_eight_parallel_writers_lose_no_entry(tmp_path, document, make_entry):
    document["entries"] = []
    path, go = tmp_path / "board.json", tmp_path / "go"
    store.write_leaderboard(path, document)
    writers = [
        subprocess.Popen([sys.executable, "-c", CHILD_PRELUDE + WRITER, str(path), str(go), json.dumps(make_entry(index))])
        for index in range(8)
    ]
    go.touch()
    assert [writer.wait(timeout=120) for writer in writers] == [0] * 8
    ids = sorted(entry["id"] for entry in store.load_leaderboard(path)["entries"])
    assert ids == [f"model_{index}" for index in range(8)]
    assert _leftovers(tmp_path) == []


# Pauses the write at `os.<point>` (fsync: temporary file written but not renamed; replace: the
# rename itself), tells the parent, and waits to be killed.
PAUSED_WRITER = """
import json, os, sys, time
from robustbench_keras.leaderboard import store
path, point, entry = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def pause(*args):
    print("paused", flush=True)
    time.sleep(600)
setattr(os, point, pause)
store.add_entry(path, entry)
"""


@pytest.mark.parametrize("point", ["fsync", "replace"])
def test_writer_killed_mid_write_leaves_previous_file_intact(leaderboard_path, point, make_entry):
    before = leaderboard_path.read_bytes()
    writer = subprocess.Popen(
        [sys.executable, "-c", CHILD_PRELUDE + PAUSED_WRITER, str(leaderboard_path), point, json.dumps(make_entry(0))],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        ready, _, _ = select.select([writer.stdout], [], [], 120)
        assert ready and writer.stdout.readline() == "paused\n"
        temporary = _leftovers(leaderboard_path.parent)
        assert len(temporary) == 1  # the new document exists only as the temporary file
        assert "model_0" in (leaderboard_path.parent / temporary[0]).read_text()
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert leaderboard_path.read_bytes() == before
    store.load_leaderboard(leaderboard_path)
    # The killed writer's lock died with it: the next writer gets through.
    store.add_entry(leaderboard_path, make_entry(0), timeout_s=10)
    assert store.load_leaderboard(leaderboard_path)["entries"][-1]["id"] == "model_0"
