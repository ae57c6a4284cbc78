"""Wall time of the whole `suites/mnist.yaml` (1,000 examples per model) on this machine.

Run: `pytest -o python_files='bench_*.py' tests/benchmarks/bench_suite.py --benchmark-save=suite`.
Trained models come from ROBUSTBENCH_KERAS_CACHE_DIR (train them once with `run suites/mnist.yaml`),
so this times the scorers: the issue's goal is at most 20 minutes for Tables 1-4 on 2 cores.
"""

import os

from robustbench_keras.pipeline.run import run_suite
from robustbench_keras.suite import load_suite


def test_full_mnist_suite(benchmark, tmp_path):
    suite = load_suite("suites/mnist.yaml", output=str(tmp_path / "out"),
                       data_dir=os.environ["ROBUSTBENCH_KERAS_DATA_DIR"])
    _, stage_times = benchmark.pedantic(run_suite, args=(suite,), kwargs={"progress": False}, rounds=1, iterations=1)
    benchmark.extra_info.update(stage_times)
    tables_1_to_4 = stage_times["models_s"] + stage_times["min_distortion_s"] + stage_times["transfer_s"]
    benchmark.extra_info["tables_1_to_4_s"] = tables_1_to_4
