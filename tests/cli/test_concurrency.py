"""Commands at the same time on one output folder, as users start them: four submits, two runs."""

import json
import signal
import time

import keras

from robustbench_keras.leaderboard.store import validate_document

# Each submission attacks two examples with a short search (the suite of `quick_board`): the test is about the
# submits at once, racing to update one leaderboard; four processes on two cores still all overlap.
NUM_SUBMISSIONS = 4


def wait_for_file(process, path):
    """Waits until `path` exists and is not empty while `process` runs; True if it did."""
    while process.poll() is None:
        if path.exists() and path.stat().st_size:
            return True
        time.sleep(0.01)
    return path.exists() and path.stat().st_size > 0


def test_submits_at_once_all_land(quick_board, launch, outputs_follow, tmp_path):
    suite = quick_board
    files = []
    for number in range(NUM_SUBMISSIONS):
        keras.utils.set_random_seed(number)
        model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
        model.save(tmp_path / f"m{number}.keras")
        files.append(tmp_path / f"m{number}.keras")
    processes = [launch("submit", path, "--name", path.stem, "--suite", suite, "--quiet") for path in files]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
    document = outputs_follow(tmp_path / "out")
    validate_document(document)
    names = {path.stem for path in files}
    assert {entry["id"] for entry in document["entries"] if entry["source"] == "submission"} == names
    zoo_row = next(entry for entry in document["entries"] if entry["id"] == "fc10_wd1e-4")
    assert names <= set(zoo_row["transfer"]["errors_on"])  # each submit kept the others' columns
    assert not list((tmp_path / "out").glob("*.lock")) and not list((tmp_path / "out").rglob(".*.tmp*"))


def test_a_second_run_of_the_same_output_is_refused_while_the_first_runs(cli_in_process, quick_board, launch,
                                                                          tmp_path):
    suite = quick_board  # trained and attacked already: the first run only rewrites the outputs
    first = launch("run", suite, "--quiet")
    lock = tmp_path / "out" / "run.lock"
    assert wait_for_file(first, lock), first.communicate()[1]
    first.send_signal(signal.SIGSTOP)  # hold the first run inside its lock, whatever the machine's speed
    try:
        second = cli_in_process("run", suite)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert f"another run is writing this folder (pid {first.pid})" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    _, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr
    assert not lock.exists()
    validate_document(json.loads((tmp_path / "out" / "leaderboard.json").read_text()))


def test_a_run_and_a_submit_at_the_same_time_lose_nothing(cli_in_process, quick_board, launch, outputs_follow,
                                                           tmp_path):
    suite = quick_board
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.save(tmp_path / "late.keras")
    processes = [launch("submit", tmp_path / "late.keras", "--name", "late", "--suite", suite, "--quiet"),
                 launch("run", suite, "--quiet")]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
    document = outputs_follow(tmp_path / "out")
    assert [entry["id"] for entry in document["entries"] if entry["source"] == "submission"] == ["late"]
    zoo_row = next(entry for entry in document["entries"] if entry["id"] == "fc10_wd1e-4")
    assert "late" in zoo_row["transfer"]["errors_on"]  # whichever wrote last, the submission's column stays
    cli_in_process("run", suite, "--quiet", check=True)  # and a run after the submit keeps it too (same attack records)
    zoo_row = next(entry for entry in outputs_follow(tmp_path / "out")["entries"] if entry["id"] == "fc10_wd1e-4")
    assert "late" in zoo_row["transfer"]["errors_on"]
