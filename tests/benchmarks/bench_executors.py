"""A suite in process against the `ray` executor on this machine, stage by stage, and Ray's overhead per unit.

Run (the smoke suite by default; ROBUSTBENCH_KERAS_BENCH_SUITE names another, e.g. suites/mnist.yaml):

    ROBUSTBENCH_KERAS_BENCH_SUITE=suites/mnist.yaml pytest -o python_files='bench_*.py' \
        tests/benchmarks/bench_executors.py --benchmark-save=executors

Trained models come from ROBUSTBENCH_KERAS_CACHE_DIR (the missing ones are trained first, untimed), so this
times the scorers and reports, as `run SUITE` does with the models cached. Each run starts from an empty
output folder. The Ray run's wall time counts its executor's start, as `run --executor ray` does (a local Ray
with every core of the machine, then its actors), also reported apart (`ray_init_s`). `extra_info` holds the
wall time of each stage (`*_s`, as `run_suite` returns them) for both runs, and for the Ray run the speed-up
over the in-process wall time measured just before (`speed_up`; `overhead_share`: the part of the Ray run
beyond the in-process one, negative when Ray is faster), and whether both leaderboards agree in every number
(`same_leaderboard`, by `scripts/compare_leaderboards.py`; the benchmark fails otherwise). A third run uses
a local Ray with one CPU, so one actor (`num_workers: 1`; `two_workers_speed_up`: its wall time over the
two-actor run's). A one-CPU actor still runs TensorFlow with the driver's threads, so on a 2-core machine that
ratio is not a clean one-to-two-workers scaling.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robustbench_keras.data import load_dataset
from robustbench_keras.executors import InProcessExecutor
from robustbench_keras.executors.ray_executor import RayExecutor
from robustbench_keras.pipeline.models import prepare_zoo_models
from robustbench_keras.pipeline.run import run_suite
from robustbench_keras.suite import load_suite

ROOT = Path(__file__).resolve().parents[2]
SUITE = os.environ.get("ROBUSTBENCH_KERAS_BENCH_SUITE", "suites/smoke.yaml")
WALL_TIMES, OUTPUTS = {}, {}
NUM_TRIVIAL_UNITS = 200


def _load(output):
    return load_suite(SUITE, output=str(output), data_dir=os.environ["ROBUSTBENCH_KERAS_DATA_DIR"],
                      cache_dir=os.environ.get("ROBUSTBENCH_KERAS_CACHE_DIR"))


@pytest.fixture(scope="module")
def trained_models(tmp_path_factory):
    """The suite's models in the cache before anything is timed (trained here if missing)."""
    suite = _load(tmp_path_factory.mktemp("unused"))
    prepare_zoo_models(suite, load_dataset(suite.dataset, data_dir=suite.data_dir, progress=False), progress=False)


def _run(tmp_path, make_executor, name):
    """Runs the suite with the executor `make_executor()` makes (its start timed too) into a fresh folder;
    its wall time and output folder are kept under `name`."""
    start = time.perf_counter()
    executor = make_executor()
    suite = _load(tmp_path / name)
    try:
        _, stage_times = run_suite(suite, progress=False, executor=executor)
    finally:
        executor.close()
    WALL_TIMES[name] = time.perf_counter() - start
    OUTPUTS[name] = Path(suite.output)
    return stage_times


def _same_leaderboard(name):
    """Whether the run `name` gave the in-process leaderboard in every number."""
    result = subprocess.run([sys.executable, ROOT / "scripts" / "compare_leaderboards.py",
                             OUTPUTS["in_process"] / "leaderboard.json", OUTPUTS[name] / "leaderboard.json"],
                            capture_output=True, text=True)
    return result.returncode == 0, result.stdout


def test_suite_in_process(benchmark, tmp_path, trained_models):
    stage_times = benchmark.pedantic(_run, args=(tmp_path, lambda: InProcessExecutor(progress=False), "in_process"),
                                     rounds=1, iterations=1)
    benchmark.extra_info.update(stage_times, suite=SUITE)


def _ray_executor():
    """A `RayExecutor` starting its own local Ray, as `run --executor ray` does; its start timed apart."""
    start = time.perf_counter()
    executor = RayExecutor(progress=False)
    WALL_TIMES["ray_init_s"] = time.perf_counter() - start
    return executor


def _one_worker_executor():
    """A `RayExecutor` on a local Ray started here with one CPU, so with one actor; Ray's start timed apart."""
    import ray

    start = time.perf_counter()
    os.environ.setdefault("RAY_worker_niceness", "0")  # as RayExecutor starts its own Ray
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    executor = RayExecutor(progress=False)
    WALL_TIMES["ray_init_s"] = time.perf_counter() - start
    return executor


@pytest.mark.parametrize("num_workers", [2, 1])
def test_suite_on_ray(benchmark, tmp_path, trained_models, num_workers):
    import ray

    make_executor = _ray_executor if num_workers == 2 else _one_worker_executor
    name = f"ray_{num_workers}"
    try:
        stage_times = benchmark.pedantic(_run, args=(tmp_path, make_executor, name), rounds=1, iterations=1)
    finally:
        ray.shutdown()  # the one-worker Ray was started here, not by the executor
    benchmark.extra_info.update(stage_times, suite=SUITE, ray_init_s=WALL_TIMES["ray_init_s"],
                                num_workers=num_workers)
    if num_workers == 1 and "ray_2" in WALL_TIMES:
        benchmark.extra_info["two_workers_speed_up"] = WALL_TIMES["ray_1"] / WALL_TIMES["ray_2"]
    if "in_process" in WALL_TIMES:
        benchmark.extra_info["speed_up"] = WALL_TIMES["in_process"] / WALL_TIMES[name]
        benchmark.extra_info["overhead_share"] = WALL_TIMES[name] / WALL_TIMES["in_process"] - 1
        same, differences = _same_leaderboard(name)
        benchmark.extra_info["same_leaderboard"] = same
        assert same, differences


def test_overhead_per_unit(benchmark):
    """Wall time of NUM_TRIVIAL_UNITS units that do next to nothing (`abs`, importable on any worker),
    through Ray, less the same in process, per unit."""
    ray_executor, in_process = _ray_executor(), InProcessExecutor(progress=False)
    try:
        ray_executor.map("warm-up", abs, list(range(8)))
        start = time.perf_counter()
        in_process.map("nothing", abs, list(range(NUM_TRIVIAL_UNITS)))
        in_process_s = time.perf_counter() - start
        benchmark.pedantic(ray_executor.map, args=("nothing", abs, list(range(NUM_TRIVIAL_UNITS))), rounds=3,
                           iterations=1)
    finally:
        ray_executor.close()
    benchmark.extra_info.update(ray_init_s=WALL_TIMES["ray_init_s"], overhead_per_unit_ms=(
        benchmark.stats.stats.median - in_process_s) / NUM_TRIVIAL_UNITS * 1e3)
