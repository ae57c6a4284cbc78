"""The smoke suite in process against the `ray` executor on this machine, and Ray's overhead per unit.

Run: `pytest -o python_files='bench_*.py' tests/benchmarks/bench_executors.py --benchmark-save=executors`.
Trained models come from ROBUSTBENCH_KERAS_CACHE_DIR (the missing ones are trained first, untimed), so
this times the scorers and reports. Each run starts from an empty output folder; the Ray run uses a local
Ray with every core of the machine, started once (its start-up is reported apart, in `ray_init_s`).
`extra_info` of the Ray benchmark holds the speed-up over the in-process wall time measured just before.
"""

import os
import time

import pytest

from robustbench_keras.data import load_dataset
from robustbench_keras.executors import InProcessExecutor
from robustbench_keras.executors.ray_executor import RayExecutor
from robustbench_keras.pipeline.models import prepare_zoo_models
from robustbench_keras.pipeline.run import run_suite
from robustbench_keras.suite import load_suite

WALL_TIMES = {}
NUM_TRIVIAL_UNITS = 200


@pytest.fixture(scope="module")
def ray_session():
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    WALL_TIMES["ray_init_s"] = time.perf_counter() - start
    yield ray
    ray.shutdown()


def _load_smoke(output):
    return load_suite("suites/smoke.yaml", output=str(output), data_dir=os.environ["ROBUSTBENCH_KERAS_DATA_DIR"],
                      cache_dir=os.environ.get("ROBUSTBENCH_KERAS_CACHE_DIR"))


@pytest.fixture(scope="module")
def trained_models(tmp_path_factory):
    """The smoke suite's models in the cache before anything is timed (trained here if missing)."""
    suite = _load_smoke(tmp_path_factory.mktemp("unused"))
    prepare_zoo_models(suite, load_dataset(suite.dataset, data_dir=suite.data_dir, progress=False), progress=False)


def _smoke(tmp_path, executor):
    suite = _load_smoke(tmp_path / executor.name)
    start = time.perf_counter()
    _, stage_times = run_suite(suite, progress=False, executor=executor)
    WALL_TIMES[executor.name] = time.perf_counter() - start
    return stage_times


def test_smoke_suite_in_process(benchmark, tmp_path, trained_models):
    stage_times = benchmark.pedantic(_smoke, args=(tmp_path, InProcessExecutor(progress=False)), rounds=1,
                                     iterations=1)
    benchmark.extra_info.update(stage_times)


def test_smoke_suite_on_ray(benchmark, tmp_path, trained_models, ray_session):
    stage_times = benchmark.pedantic(_smoke, args=(tmp_path, RayExecutor(progress=False)), rounds=1, iterations=1)
    benchmark.extra_info.update(stage_times, ray_init_s=WALL_TIMES["ray_init_s"])
    if "in_process" in WALL_TIMES:
        benchmark.extra_info["speed_up"] = WALL_TIMES["in_process"] / WALL_TIMES["ray"]


def test_overhead_per_unit(benchmark, ray_session):
    """Wall time of NUM_TRIVIAL_UNITS units that do next to nothing (`abs`, importable on any worker),
    through Ray, less the same in process, per unit."""
    ray_executor, in_process = RayExecutor(progress=False), InProcessExecutor(progress=False)
    ray_executor.map("warm-up", abs, list(range(8)))
    start = time.perf_counter()
    in_process.map("nothing", abs, list(range(NUM_TRIVIAL_UNITS)))
    in_process_s = time.perf_counter() - start
    benchmark.pedantic(ray_executor.map, args=("nothing", abs, list(range(NUM_TRIVIAL_UNITS))), rounds=3,
                       iterations=1)
    benchmark.extra_info["overhead_per_unit_ms"] = (benchmark.stats.stats.median - in_process_s) / NUM_TRIVIAL_UNITS * 1e3
