"""`leaderboard verify` recomputes every stored summary from its records before re-measuring."""

import json
import shutil


def _copy(tiny_run, tmp_path):
    suite, output, _ = tiny_run
    copy = tmp_path / "out"
    shutil.copytree(output, copy)
    return suite, copy


def test_verify_recomputes_summaries_from_records_in_a_moved_folder(tiny_run, cli_in_process, tmp_path):
    suite, copy = _copy(tiny_run, tmp_path)  # records paths are relative to the leaderboard: a copy still verifies
    result = cli_in_process("leaderboard", "verify", "fc10_wd1e-4", "--suite", suite, "--output", copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "train summary mean" in result.stdout and "train summary exact_optimum_ratio.mean" in result.stdout
    assert "MISMATCH" not in result.stdout


def test_a_changed_summary_number_is_reported(tiny_run, cli_in_process, tmp_path):
    suite, copy = _copy(tiny_run, tmp_path)
    path = copy / "leaderboard.json"
    document = json.loads(path.read_text())
    document["entries"][0]["min_distortion"]["train"]["mean"] += 0.01
    path.write_text(json.dumps(document))
    result = cli_in_process("leaderboard", "verify", "fc10_wd1e-4", "--suite", suite, "--output", copy)
    assert result.returncode == 1
    mismatched = [line for line in result.stdout.splitlines() if line.endswith("MISMATCH")]
    assert len(mismatched) == 1 and "train summary mean" in mismatched[0]


def test_records_with_another_sha256_are_refused_in_one_line(tiny_run, cli_in_process, tmp_path):
    suite, copy = _copy(tiny_run, tmp_path)
    document = json.loads((copy / "leaderboard.json").read_text())
    ours = copy / document["entries"][0]["min_distortion"]["train"]["records"]["path"]
    other = copy / document["entries"][1]["min_distortion"]["test"]["records"]["path"]
    shutil.copyfile(other, ours)
    result = cli_in_process("leaderboard", "verify", "fc10_wd1e-4", "--suite", suite, "--output", copy)
    assert result.returncode == 1
    assert "do not have the sha256 the leaderboard stores" in result.stderr
    last = result.stderr.strip().splitlines()[-1]  # after the progress lines, one line says what is wrong
    assert last.startswith("robustbench_keras: error: ") and "sha256" in last and "Traceback" not in result.stderr
