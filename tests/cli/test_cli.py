"""The command line end to end: help, models, suite errors, a run, its resumption."""

import argparse
import json
import shutil
import subprocess
import sys

import jsonschema
import pytest

from robustbench_keras.cli import options
from robustbench_keras.cli import submit as submit_command
from robustbench_keras.leaderboard.store import load_schema

# Runs the command line in this process's interpreter and then checks what it imported.
WITHOUT_TENSORFLOW = """
import runpy, sys
sys.argv = ["robustbench_keras", *sys.argv[1:]]
try:
    runpy.run_module("robustbench_keras", run_name="__main__")
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
loaded = sorted({name.split(".")[0] for name in sys.modules} & {"tensorflow", "keras", "tensorflow_datasets"})
print("heavy modules:", loaded)
"""


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


@pytest.mark.parametrize("arguments", [["--help"], ["models"], ["submit", "--help"]])
def test_help_and_models_never_import_tensorflow_or_keras(arguments):
    result = subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, *arguments],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "heavy modules: []"
    assert result.stderr == ""
    assert ("fc100_100_10_p2" in result.stdout) == (arguments == ["models"])


def test_models_lists_the_papers_errors_from_the_baselines(cli):
    rows = {line.split()[0]: line for line in cli("models").stdout.splitlines()[1:]}
    assert rows["fc10_wd1"].endswith("21.20% / 20.00%")
    assert rows["fc100_100_10_p2"].endswith("0.00% / 2.10%")
    assert rows["mnist_convnet"].endswith("— / —")


def _overrides(**values):
    defaults = {"output": None, "data_dir": None, "cache_dir": None, "executor": None, "ray_address": None}
    return argparse.Namespace(**(defaults | values))


def test_the_cache_folder_variable_is_read_at_the_command_line_edge(tmp_path, monkeypatch):
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: plain\nmodels: [fc10_wd1e-4]\n")
    with_folder = tmp_path / "with_folder.yaml"
    with_folder.write_text(f"name: folder\nmodels: [fc10_wd1e-4]\ncache_dir: {tmp_path / 'suite'}\n")
    monkeypatch.delenv(options.CACHE_DIR_VARIABLE, raising=False)
    assert options.load_suite_with_overrides(plain, _overrides()).cache_dir is None  # the zoo's default
    monkeypatch.setenv(options.CACHE_DIR_VARIABLE, str(tmp_path / "env"))
    assert options.load_suite_with_overrides(plain, _overrides()).cache_dir == str(tmp_path / "env")
    # The suite's own folder, then --cache-dir, come first.
    assert options.load_suite_with_overrides(with_folder, _overrides()).cache_dir == str(tmp_path / "suite")
    assert options.load_suite_with_overrides(plain, _overrides(cache_dir="cli")).cache_dir == "cli"


def test_submit_prints_distortions_with_four_significant_digits():
    assert submit_command.format_distortion(0.054525607017870216) == "0.05453"
    assert submit_command.format_distortion(0.1) == "0.1"
    assert submit_command.format_distortion(None) == "none succeeded"


def test_submit_size_limit_default_is_the_loaders():
    from robustbench_keras.submission.loading import DEFAULT_MAX_SIZE_BYTES

    assert submit_command.DEFAULT_MAX_MODEL_SIZE_MB * 2**20 == DEFAULT_MAX_SIZE_BYTES


def test_broken_suite_gets_one_line_and_exit_2(cli, suite_writer, tmp_path):
    suite = suite_writer(tmp_path, **{"max_epochs: 1": "max_epochs: 1\nepochs: 3"})
    result = cli("run", suite)
    assert result.returncode == 2
    assert result.stderr.strip() == f"robustbench_keras: error: {suite}: unknown key 'epochs' " + (
        "(known: name, dataset, models, seed, output, data_dir, cache_dir, max_epochs, attack, scorers, executor, "
        "ray_address, spheres)")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_model_and_bad_attack_setting_are_exit_2(cli_in_process, suite_writer, tmp_path):
    suite = suite_writer(tmp_path, **{"fc10_wd1e-4,": "fc11,"})
    result = cli_in_process("run", suite)
    assert result.returncode == 2 and "models[0]: unknown model 'fc11'" in result.stderr
    suite = suite_writer(tmp_path, **{"batch_size: 16": "batch_size: -1"})
    result = cli_in_process("run", suite)
    assert result.returncode == 2 and "attack.batch_size" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_data_folder_is_a_one_line_error(cli_in_process, suite_writer, tmp_path):
    suite = suite_writer(tmp_path)
    result = cli_in_process("run", suite, "--data-dir", tmp_path / "nothing-here")
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


def test_second_run_reuses_models_and_records_and_gives_the_same_results(tiny_run, cli_in_process, tmp_path):
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
    result = cli_in_process("run", suite, "--output", copy, check=True)
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


def test_a_binary_suite_and_an_output_that_is_a_file_are_one_line_errors(cli_in_process, suite_writer, tmp_path):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)))
    a_file = tmp_path / "taken"
    a_file.write_text("kept")
    for arguments in (["run", binary], ["run", suite_writer(tmp_path), "--output", a_file]):
        result = cli_in_process(*arguments)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("robustbench_keras: error: ")
    assert a_file.read_text() == "kept"
