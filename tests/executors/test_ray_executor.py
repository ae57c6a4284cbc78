"""The `ray` executor: same leaderboard as in process, a killed worker's unit retried, a resumed run, the
missing extra. One local Ray (2 CPUs, no dashboard) is shared by the module; the suite is tiny."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robustbench_keras.attacks import AttackRecords
from robustbench_keras.errors import SuiteError
from robustbench_keras.executors import make_executor
from robustbench_keras.executors.ray_executor import RayExecutor
from robustbench_keras.pipeline.run import run_suite
from robustbench_keras.suite import load_suite

ROOT = Path(__file__).resolve().parents[2]
SUITE = """
name: ray-tiny
dataset: mnist
seed: 0
max_epochs: 1
models: [fc10_wd1e-4, fc100_100_10_p1]
attack: {{loss: margin, batch_size: 8}}
scorers:
  min_distortion: {{num_examples: 16, chunk_size: 8}}
  transfer: {{}}
  spectral: {{alexnet: false}}
  unit_semantics: {{num_directions: 4, top_k: 4, num_examples: 200, num_resamples: 50, reference_model: fc100_100_10_p1}}
executor: {executor}
"""


@pytest.fixture(scope="module")
def ray_session():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 2**20)
    yield ray
    ray.shutdown()


def _run(tmp_path_factory, mnist_dir, executor_name, executor=None, output=None):
    folder = tmp_path_factory.mktemp(f"suite-{executor_name}")
    (folder / "suite.yaml").write_text(SUITE.format(executor=executor_name))
    suite = load_suite(folder / "suite.yaml", output=str(output or folder / "out"), data_dir=mnist_dir,
                       cache_dir=os.environ.get("ROBUSTBENCH_KERAS_CACHE_DIR") or str(folder / "cache"))
    run_suite(suite, progress=False, executor=executor)
    return Path(suite.output)


def _same_leaderboard(a, b):
    """The independent comparison script: every number equal, timings and timestamps ignored."""
    result = subprocess.run([sys.executable, ROOT / "scripts" / "compare_leaderboards.py",
                             a / "leaderboard.json", b / "leaderboard.json"], capture_output=True, text=True)
    return result.returncode == 0, result.stdout


def _records(output):
    """{file name: records} of a run's merged attack records."""
    return {path.name: AttackRecords.load(path) for path in sorted((output / "records").glob("*.npz"))}


def _assert_same_records(a, b):
    first, second = _records(a), _records(b)
    assert first.keys() == second.keys() and len(first) == 2
    for name in first:
        for column in ("index", "target", "success", "c", "distortion_rms", "num_grad_evals", "x_adv"):
            assert np.array_equal(getattr(first[name], column), getattr(second[name], column), equal_nan=True), column


@pytest.fixture(scope="module")
def in_process_output(tmp_path_factory, mnist_dir):
    return _run(tmp_path_factory, mnist_dir, "in_process")


def test_ray_run_gives_the_in_process_leaderboard(ray_session, tmp_path_factory, mnist_dir, in_process_output):
    output = _run(tmp_path_factory, mnist_dir, "ray")
    same, differences = _same_leaderboard(in_process_output, output)
    assert same, differences
    _assert_same_records(in_process_output, output)
    table = (output / "unit_timings.md").read_text()
    assert table.count(" chunk ") == 4  # 2 models x 16 examples / chunks of 8, each a row with its node
    assert table.count("| spectral bounds | fc") == 2 and table.count("| unit vs random directions | fc") == 2


def _killing_once(function, marker):
    """`function`, except that the first call anywhere kills its own worker process mid-unit."""
    def unit(argument):
        if not os.path.exists(marker):
            Path(marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return function(argument)
    return unit


class _KillingExecutor(RayExecutor):
    def __init__(self, marker):
        super().__init__(progress=False)
        self.marker = marker

    def map(self, stage, function, units, on_done=None, labels=None):
        return super().map(stage, _killing_once(function, self.marker), units, on_done, labels)


def test_a_run_resumed_on_ray_with_a_worker_killed_ends_with_the_same_leaderboard(
        ray_session, tmp_path_factory, mnist_dir, in_process_output):
    # A driver killed after its first chunk was written: only that chunk is on disk.
    output = tmp_path_factory.mktemp("resumed") / "out"
    first_chunk = sorted((in_process_output / "records").glob("*/chunk_*.npz"))[0]
    kept = output / first_chunk.relative_to(in_process_output)
    kept.parent.mkdir(parents=True)
    shutil.copy(first_chunk, kept)
    marker = tmp_path_factory.mktemp("marker") / "killed"
    executor = _KillingExecutor(marker)
    _run(tmp_path_factory, mnist_dir, "ray", executor=executor, output=output)
    assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker, not the driver, was killed
    assert sum(t.stage.startswith("attacking") for t in executor.timings) == 4 - 1  # the kept chunk not redone
    same, differences = _same_leaderboard(in_process_output, output)
    assert same, differences
    _assert_same_records(in_process_output, output)


def test_ray_without_the_extra_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    hint = r'executor: ray needs the ray extra; install it with pip install -e "\.\[ray\]"$'
    with pytest.raises(SuiteError, match="^" + hint):
        make_executor("ray")
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.format(executor="ray"))
    with pytest.raises(SuiteError, match=r"suite\.yaml: " + hint):  # refused on loading, before any work
        load_suite(path)


def test_the_executor_is_one_of_the_known_names_and_not_part_of_the_hash(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.format(executor="spark"))
    with pytest.raises(SuiteError, match=r"suite\.yaml: executor: expected one of in_process, ray, got 'spark'$"):
        load_suite(path)
    in_process = load_suite(path, executor="in_process")
    assert load_suite(path, executor="ray").hash() == in_process.hash() and in_process.executor == "in_process"
