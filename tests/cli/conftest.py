"""A tiny suite run once per module through the real CLI, in a subprocess, as a user would."""

import os
import subprocess
import sys
import textwrap

import pytest

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


@pytest.fixture(scope="session")
def cli():
    """`cli(*args)` runs the command line in a subprocess."""
    return run_cli


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

