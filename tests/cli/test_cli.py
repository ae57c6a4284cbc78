"""The command line end to end: help, models, suite errors, a run, its resumption."""

import json
import shutil

import jsonschema

from robustbench_keras.leaderboard.store import load_schema


def without_timings(document):
    """The parts of a leaderboard that must be identical between two runs of the same suite."""
    entries = []
    for entry in document["entries"]:
        entry = {key: value for key, value in entry.items() if key != "timings"}
        entries.append(entry)
    return {"entries": entries, "controls": document.get("controls"), "suite": document["suite"]}


def test_help_lists_the_commands(cli):
    result = cli("--help")
    assert result.returncode == 0
    for command in ("run", "models", "submit", "leaderboard"):
        assert command in result.stdout
    assert result.stderr == ""  # TensorFlow's start-up noise stays off the terminal


def test_models_lists_the_zoo(cli):
    result = cli("models")
    assert result.returncode == 0
    for model_id in ("fc10_wd1e-4", "fc200_200_10", "ae400_10", "fc123_456_10_p1", "mnist_convnet"):
        assert model_id in result.stdout
    assert "FC100-100-10'" in result.stdout


def test_broken_suite_gets_one_line_and_exit_2(cli, suite_writer, tmp_path):
    suite = suite_writer(tmp_path, **{"max_epochs: 1": "max_epochs: 1\nepochs: 3"})
    result = cli("run", suite)
    assert result.returncode == 2
    assert result.stderr.strip() == f"robustbench_keras: error: {suite}: unknown key 'epochs' " + (
        "(known: name, dataset, models, seed, output, data_dir, cache_dir, max_epochs, attack, scorers)")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_model_and_bad_attack_setting_are_exit_2(cli, suite_writer, tmp_path):
    suite = suite_writer(tmp_path, **{"fc10_wd1e-4,": "fc11,"})
    result = cli("run", suite)
    assert result.returncode == 2 and "models[0]: unknown model 'fc11'" in result.stderr
    suite = suite_writer(tmp_path, **{"batch_size: 16": "batch_size: -1"})
    result = cli("run", suite)
    assert result.returncode == 2 and "attack.batch_size" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_data_folder_is_a_one_line_error(cli, suite_writer, tmp_path):
    suite = suite_writer(tmp_path)
    result = cli("run", suite, "--data-dir", tmp_path / "nothing-here")
    assert result.returncode == 1
    assert "nothing-here" in result.stderr and "Traceback" not in result.stderr


def test_run_writes_a_valid_leaderboard_tables_page_and_figures(tiny_run):
    _, output, result = tiny_run
    document = json.loads((output / "leaderboard.json").read_text())
    jsonschema.validate(document, load_schema())
    assert [entry["id"] for entry in document["entries"]] == ["fc10_wd1e-4", "fc100_100_10_p1", "fc100_100_10_p2"]
    assert document["data_fingerprint"]["files"]["train-images-idx3-ubyte.gz"]["official"] is False
    fc10 = document["entries"][0]
    assert fc10["min_distortion"]["train"]["n"] == 12
    assert fc10["transfer"]["errors_on"]["fc10_wd1e-4"] == 1.0  # the diagonal
    assert set(document["controls"]) == {"table2", "table4", "table4_magnified"}
    tables = (output / "tables.md").read_text()
    assert "Table 1" in tables and "Table 4" in tables and "FC10(1e-4)" in tables
    assert "<table" in (output / "index.html").read_text()
    figures = sorted(p.name for p in (output / "figures").glob("*.png"))
    assert "transfer_table4.png" in figures and "distortion_histograms.png" in figures
    assert any(name.startswith("adversarial_") for name in figures)
    assert any(name.startswith("directions_") for name in figures)
    assert "training fc100_100_10_p1" in result.stderr  # progress is shown


def test_second_run_reuses_models_and_records_and_gives_the_same_results(tiny_run, cli, tmp_path):
    suite, output, _ = tiny_run
    copy = tmp_path / "out"
    shutil.copytree(output, copy)
    first = json.loads((copy / "leaderboard.json").read_text())
    # An interrupted run: the merged records of one model and one of its chunks were never written.
    records = sorted((copy / "records").glob("fc100_100_10_p2-*.npz"))[0]
    records.unlink()
    chunks = sorted(records.with_suffix("").glob("chunk_*.npz"))
    kept_chunk_bytes = chunks[0].read_bytes()
    chunks[1].unlink()
    result = cli("run", suite, "--output", copy, check=True)
    assert "training" not in result.stderr  # models come from the cache
    assert "attacking fc10_wd1e-4" not in result.stderr  # its merged records are reused
    assert "attacking fc100_100_10_p2" in result.stderr  # resumed from its first chunk
    assert chunks[0].read_bytes() == kept_chunk_bytes and chunks[1].exists()
    second = json.loads((copy / "leaderboard.json").read_text())
    first_entries, second_entries = without_timings(first), without_timings(second)
    for before, after in zip(first_entries["entries"], second_entries["entries"]):
        for section in ("min_distortion",):
            for split in before[section]:
                before[section][split].pop("records"), after[section][split].pop("records")
    assert first_entries == second_entries
