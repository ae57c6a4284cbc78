"""A tiny suite run once per module through the real CLI, in a subprocess, as a user would."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import jsonschema
import pytest

from robustbench_keras.leaderboard.store import load_schema

TINY_SUITE = """
name: tiny
dataset: mnist
seed: 0
output: {output}
cache_dir: {cache}
max_epochs: 1
models: [fc10_wd1e-4, fc100_100_10_p1, fc100_100_10_p2]
attack: {{batch_size: 16}}
scorers:
  min_distortion: {{num_examples: 12, chunk_size: 6}}
  transfer: {{}}
  spectral: {{alexnet: false}}
  unit_semantics: {{num_directions: 4, top_k: 4, num_examples: 500, num_resamples: 50}}
"""


# The tiny suite cut down to one model and four attacked examples, one per chunk.
NANO = {"fc10_wd1e-4, fc100_100_10_p1, fc100_100_10_p2": "fc10_wd1e-4",
        "{num_examples: 12, chunk_size: 6}": "{num_examples: 4, chunk_size: 1}",
        "  spectral: {alexnet: false}\n": "",
        "  unit_semantics: {num_directions: 4, top_k: 4, num_examples: 500, num_resamples: 50}\n": ""}

# The nano suite with two attacked examples and a short search without XLA, for tests about files and
# processes rather than about the attack's numbers.
QUICK = {"{batch_size: 16}": "{batch_size: 16, jit_compile: false, num_c_steps: 2, max_evaluations: 10, "
                             "rescue_evaluations: 10, num_projection_steps: 0, num_walk_steps: 0, "
                             "num_restart_steps: 0}",
         "{num_examples: 4, chunk_size: 1}": "{num_examples: 2, chunk_size: 2}"}


def run_cli(*args, env=None, check=False):
    """Runs `python -m robustbench_keras ARGS` and returns the CompletedProcess (text)."""
    result = subprocess.run(
        [sys.executable, "-m", "robustbench_keras", *map(str, args)],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stderr}")
    return result


def write_suite(folder, **changes):
    """Writes the tiny suite into `folder`; returns its path."""
    text = textwrap.dedent(TINY_SUITE).format(output=folder / "out", cache=folder / "cache")
    for old, new in changes.items():
        text = text.replace(old, new)
    path = folder / "tiny.yaml"
    path.write_text(text)
    return path


def assert_outputs_follow_the_leaderboard(output):
    """Every output agrees with `leaderboard.json`: rows, transfer columns, figures, records and copies."""
    document = json.loads((output / "leaderboard.json").read_text())
    jsonschema.validate(document, load_schema())
    ids = {entry["id"] for entry in document["entries"]}
    submitted = {entry["id"] for entry in document["entries"] if entry["source"] == "submission"}
    tables, page = (output / "tables.md").read_text(), (output / "index.html").read_text()
    assert all(name in tables and name in page for name in submitted)
    for entry in document["entries"]:
        assert set((entry.get("transfer") or {}).get("errors_on", {})) <= ids
    listed = {item["path"] for item in json.loads((output / "figures" / "figures.json").read_text())}
    assert all((output / path).is_file() and path in tables for path in listed)
    assert {f"figures/{path.name}" for path in (output / "figures").glob("*.png")} == listed
    referenced = {summary["records"]["path"] for entry in document["entries"]
                  for summary in (entry.get("min_distortion") or {}).values()}
    assert {f"records/{path.name}" for path in (output / "records").glob("*.npz")} == referenced
    assert {path.stem for path in (output / "submissions").glob("*.keras")} == submitted
    return document


@pytest.fixture(scope="session")
def outputs_follow():
    """`outputs_follow(output)` checks every output against the leaderboard; returns the document."""
    return assert_outputs_follow_the_leaderboard


@pytest.fixture(scope="session")
def cli():
    """`cli(*args)` runs the command line in a subprocess."""
    return run_cli


@pytest.fixture()
def cli_in_process(capsys):
    """`cli_in_process(*args)` runs the command line in this process (`cli.main.main`), for calls where a
    new process would only add TensorFlow's start-up; returns a CompletedProcess (text)."""
    from robustbench_keras.cli.main import main

    def run(*args, check=False):
        capsys.readouterr()
        arguments = [str(arg) for arg in args]
        try:
            returncode = main(arguments)
        except SystemExit as exit:  # argparse's usage errors
            returncode = exit.code
        out, err = capsys.readouterr()
        result = subprocess.CompletedProcess(arguments, returncode, out, err)
        if check and returncode != 0:
            raise AssertionError(f"exit {returncode}\n{err}")
        return result

    return run


@pytest.fixture(scope="session")
def launch():
    """`launch(*args)` starts the command line in a subprocess without waiting (stdout, stderr piped, text)."""

    def start(*args):
        return subprocess.Popen([sys.executable, "-m", "robustbench_keras", *map(str, args)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    return start


@pytest.fixture(scope="session")
def nano_writer():
    """`nano_writer(folder, **replacements)` writes the tiny suite cut down to one model and four examples
    (`NANO`), with further replacements."""
    return lambda folder, **changes: write_suite(folder, **{**NANO, **changes})


@pytest.fixture(scope="session")
def suite_writer():
    """`suite_writer(folder, **replacements)` writes a tiny suite file."""
    return write_suite


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The tiny suite run once: (suite path, output folder, CompletedProcess)."""
    folder = tmp_path_factory.mktemp("tiny")
    suite = write_suite(folder)
    result = run_cli("run", suite, check=True)
    return suite, folder / "out", result



@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """The nano suite with `QUICK` attack settings run once: its folder (tiny.yaml, out/, cache/)."""
    from robustbench_keras.pipeline.run import run_suite
    from robustbench_keras.suite import load_suite

    folder = tmp_path_factory.mktemp("quick")
    suite = write_suite(folder, **{**NANO, **QUICK})
    run_suite(load_suite(suite, data_dir=os.environ["ROBUSTBENCH_KERAS_DATA_DIR"]), progress=False)
    return folder


@pytest.fixture()
def quick_board(quick_run, tmp_path):
    """A private copy of `quick_run` in `tmp_path` (its trained model and output): the suite file's path."""
    shutil.copytree(quick_run / "out", tmp_path / "out")
    shutil.copytree(quick_run / "cache", tmp_path / "cache")
    return write_suite(tmp_path, **{**NANO, **QUICK})
