"""scripts/compare_leaderboards.py: value-by-value comparison of two leaderboards, run as a user runs it."""

import copy
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compare_leaderboards.py"

BEFORE = {
    "schema_version": "1.0",
    "suite": {"name": "smoke", "path": "suites/smoke.yaml", "hash": "d5eb7c32"},
    "created_utc": "2026-12-02T04:13:36Z",
    "software": {"python": "3.11.7", "tensorflow": "2.21.0", "robustbench_keras": "0.1.0"},
    "entries": [
        {
            "id": "fc10_wd1e-4",
            "checkpoint_sha256": "2f95ed8c",
            "clean_errors": {"train": 0.0761, "test": 0.0759},
            "timings": {"train_or_load_s": 4.53, "min_distortion_s": 4.85},
            "min_distortion": {
                "train": {"n": 32, "mean": 0.0624, "records": {"path": "/work/a/records/x.npz", "sha256": "be25"}}
            },
            "spectral": {"layers": [{"name": "logits", "bound": 2.5, "time_s": 0.01}], "product": 2.5},
        },
        {"id": "fc100_100_10_p1", "clean_errors": {"train": 0.02, "test": 0.094}, "transfer": {"errors_on": {}}},
    ],
}


def _run(tmp_path, before, after, *options):
    paths = []
    for name, document in (("before.json", before), ("after.json", after)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(document))
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, paths), *options], capture_output=True, text=True, timeout=60
    )


def _rerun_of(document):
    """The same results from another run: other timings, timestamps, versions, paths and file hashes."""
    after = copy.deepcopy(document)
    after["created_utc"] = "2026-12-03T10:00:00Z"
    after["software"]["tensorflow"] = "2.21.1"
    after["suite"]["path"] = "/tmp/elsewhere/smoke.yaml"
    entry = after["entries"][0]
    entry["timings"] = {"train_or_load_s": 0.4, "min_distortion_s": 9.1}
    entry["spectral"]["layers"][0]["time_s"] = 0.3
    entry["checkpoint_sha256"] = "0c7a1b2d"
    entry["min_distortion"]["train"]["records"] = {"path": "/tmp/b/records/x.npz", "sha256": "77aa"}
    return after


def test_documents_equal_but_for_timings_timestamps_versions_and_paths_agree(tmp_path):
    result = _run(tmp_path, BEFORE, _rerun_of(BEFORE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("agree (timings, timestamps, versions, paths and file hashes ignored)")


def test_one_changed_number_is_named_by_its_json_path(tmp_path):
    after = _rerun_of(BEFORE)
    after["entries"][0]["min_distortion"]["train"]["mean"] = 0.0625
    result = _run(tmp_path, BEFORE, after)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "$.entries[id=fc10_wd1e-4].min_distortion.train.mean: 0.0624 -> 0.0625 "
        "(difference +0.0001, relative +0.0016)"
    ]
    assert result.stderr == f"1 difference(s) between {tmp_path / 'before.json'} and {tmp_path / 'after.json'}\n"


def test_every_difference_is_reported(tmp_path):
    after = copy.deepcopy(BEFORE)
    after["entries"].reverse()
    after["entries"][0]["clean_errors"]["test"] = 0.1
    after["entries"][1]["spectral"]["layers"].append({"name": "hidden", "bound": 1.0})
    after["entries"][0]["transfer"]["errors_on"]["fc10_wd1e-4"] = 1.0
    after["suite"]["hash"] = "ffffffff"
    del after["schema_version"]
    result = _run(tmp_path, BEFORE, after)
    assert result.returncode == 1
    assert sorted(result.stdout.splitlines()) == sorted([
        '$.schema_version: only in the first file ("1.0")',
        '$.suite.hash: "d5eb7c32" -> "ffffffff"',
        '$.entries: order of ids ["fc10_wd1e-4", "fc100_100_10_p1"] -> ["fc100_100_10_p1", "fc10_wd1e-4"]',
        "$.entries[id=fc10_wd1e-4].spectral.layers[name=hidden]: only in the second file",
        "$.entries[id=fc100_100_10_p1].clean_errors.test: 0.094 -> 0.1 (difference +0.006, relative +0.0638)",
        '$.entries[id=fc100_100_10_p1].transfer.errors_on["fc10_wd1e-4"]: only in the second file (1.0)',
    ])


def test_types_are_compared_and_a_boolean_is_not_a_number(tmp_path):
    before = {"a": 1, "b": True, "c": None, "d": 2}
    after = {"a": 1.0, "b": 1, "c": 0, "d": "2"}
    result = _run(tmp_path, before, after)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "$.b: boolean true -> number 1",
        "$.c: null null -> number 0",
        '$.d: number 2 -> string "2"',
    ]


def test_tolerances_and_file_hashes_are_options(tmp_path):
    after = _rerun_of(BEFORE)
    after["entries"][1]["clean_errors"]["test"] = 0.094 * (1 + 1e-9)
    assert _run(tmp_path, BEFORE, after).returncode == 1
    assert _run(tmp_path, BEFORE, after, "--rel-tol", "1e-6").returncode == 0
    result = _run(tmp_path, BEFORE, after, "--rel-tol", "1e-6", "--compare-file-hashes")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        '$.entries[id=fc10_wd1e-4].checkpoint_sha256: "2f95ed8c" -> "0c7a1b2d"',
        '$.entries[id=fc10_wd1e-4].min_distortion.train.records.sha256: "be25" -> "77aa"',
    ]


def test_an_unreadable_file_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "broken.json"), str(tmp_path / "missing.json")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"compare_leaderboards: {tmp_path / 'broken.json'}: not a JSON file (")
    assert len(result.stderr.splitlines()) == 1
