"""The `ray` executor: same leaderboard as in process, a killed worker's unit retried, a killed driver's run
resumed, progress per stage, the missing extra. One local Ray (2 CPUs, no dashboard) is shared by the module;
the suite is tiny (2 cheap models, 16 examples, an attack of few steps with the fewest kernels to trace and no
XLA: tracing them, once per model in each process, is most of a run) but has every unit kind."""

import collections
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
attack: {{batch_size: 8, num_c_steps: 2, max_evaluations: 10, rescue_evaluations: 0, num_boundary_steps: 1,
         num_projection_steps: 0, num_restart_steps: 0, jit_compile: false}}
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

    # No memory monitor (on a shared machine it kills the workers for memory that other processes use), and
    # workers at the driver's priority, as `RayExecutor` starts them.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=150 * 2**20,
             _system_config={"memory_monitor_refresh_ms": 0, "worker_niceness": 0})
    yield ray
    ray.shutdown()


def _run(tmp_path_factory, mnist_dir, executor_name, executor=None, output=None, cache=None):
    """Runs the tiny suite; `cache`: the models' folder (default: a fresh one, so every model is trained)."""
    folder = tmp_path_factory.mktemp(f"suite-{executor_name}")
    (folder / "suite.yaml").write_text(SUITE.format(executor=executor_name))
    suite = load_suite(folder / "suite.yaml", output=str(output or folder / "out"), data_dir=mnist_dir,
                       cache_dir=str(cache or folder / "cache"))
    run_suite(suite, progress=False, executor=executor)
    return Path(suite.output), Path(suite.cache_dir)


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


def _assert_same_checkpoints(cache, other):
    """Two caches hold the same model files (names: recipe, data and seed; bytes: config and weights)."""
    names = sorted(path.name for path in cache.glob("*.keras"))
    assert names == sorted(path.name for path in other.glob("*.keras")) and len(names) == 2
    for name in names:
        assert (cache / name).read_bytes() == (other / name).read_bytes(), name


@pytest.fixture(scope="module")
def in_process_run(tmp_path_factory, mnist_dir):
    """(output, cache) of the tiny suite run in process, models trained in process."""
    return _run(tmp_path_factory, mnist_dir, "in_process")


def _units_per_stage(output):
    """{stage: units} of the run's per-unit timing table (its first table: one row per unit)."""
    rows = (output / "unit_timings.md").read_text().split("\n\n")[1].splitlines()[2:]
    return collections.Counter(row.split(" | ")[0].lstrip("| ") for row in rows)


ATTACK_STAGE = "attacking fc10_wd1e-4-train, fc100_100_10_p1-test"


def test_ray_run_gives_the_in_process_leaderboard(ray_session, tmp_path_factory, mnist_dir, in_process_run):
    output, cache = _run(tmp_path_factory, mnist_dir, "ray")
    same, differences = _same_leaderboard(in_process_run[0], output)
    assert same, differences
    _assert_same_records(in_process_run[0], output)
    _assert_same_checkpoints(in_process_run[1], cache)  # trained on workers, written by the driver
    # Every unit kind ran on Ray, a row each (stage, unit, node, seconds); 2 models x 16 examples / chunks of 8.
    assert _units_per_stage(output) == {"training models": 2, "clean errors": 2, ATTACK_STAGE: 4,
                                        "spectral bounds": 2, "unit vs random directions": 2,
                                        "transfer evaluations": 2}


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

    def map(self, stage, function, units, on_done=None, labels=None, weights=None):
        return super().map(stage, _killing_once(function, self.marker), units, on_done, labels, weights)


def test_a_killed_driver_restarted_on_ray_with_a_worker_killed_ends_with_the_same_leaderboard(
        ray_session, tmp_path_factory, mnist_dir, in_process_run):
    # What a driver killed after its first model and its first chunk leaves: one model in the cache (the
    # other still to train) and one chunk on disk.
    reference, reference_cache = in_process_run
    output, cache = tmp_path_factory.mktemp("resumed") / "out", tmp_path_factory.mktemp("resumed-cache")
    for path in reference_cache.glob("fc10_wd1e-4-*"):
        shutil.copy(path, cache / path.name)
    first_chunk = sorted((reference / "records").glob("fc10_wd1e-4-*/chunk_*.npz"))[0]
    kept = output / first_chunk.relative_to(reference)
    kept.parent.mkdir(parents=True)
    shutil.copy(first_chunk, kept)
    marker = tmp_path_factory.mktemp("marker") / "killed"
    executor = _KillingExecutor(marker)
    _run(tmp_path_factory, mnist_dir, "ray", executor=executor, output=output, cache=cache)
    assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker, not the driver, was killed
    # Only the missing model was trained (the killed unit, retried once) and the kept chunk was not redone.
    assert _units_per_stage(output) == {"training models": 1, "clean errors": 2, ATTACK_STAGE: 4 - 1,
                                        "spectral bounds": 2, "unit vs random directions": 2,
                                        "transfer evaluations": 2}
    assert [t.unit for t in executor.timings if t.stage == "training models"] == ["fc100_100_10_p1"]
    same, differences = _same_leaderboard(reference, output)
    assert same, differences
    _assert_same_records(reference, output)
    _assert_same_checkpoints(reference_cache, cache)


def test_progress_shows_units_done_out_of_the_stage_total(ray_session, capsys):
    results = RayExecutor(progress=True).map("absolute values", abs, [-3, -1, -2])
    assert results == [3, 1, 2]
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("absolute values: 0/3 units") and lines[-1].startswith("absolute values: 3/3 units")


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
