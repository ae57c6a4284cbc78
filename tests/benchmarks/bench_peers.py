"""Benchmark: this project's attack beside Foolbox 3's minimal-norm attacks and per-example SciPy L-BFGS-B.

Run (all methods, ~15-20 minutes on 2 cores; needs the `peers` extra, `pip install -e .[peers]`):

    pytest -o python_files='bench_*.py' tests/benchmarks/bench_peers.py --benchmark-save=peers -s

Same models, examples and targets for every method (see `peers.py`): the zoo's `fc100_100_10` and
`mnist_convnet`, a ReLU MLP trained with a fixed seed; the first 100 MNIST test images; seeded random
wrong targets. Each method runs once (pytest-benchmark pedantic, one round); its per-example L2
distortions (NaN on failure), success and ms are stored in `results/peers_<model>.npz`, keyed by the
sha256 of the model's weights, the examples and the targets, and `test_write_report` writes
`results/peers.md` and `results/peers.json` with the ratios to the per-example envelope.

Untargeted (`target_policy: closest`; C&W L2, DDN 1,000/100 with Foolbox's `Misclassification`, SciPy and this
project over all 9 wrong labels; stored as `results/peers_<model>_closest.npz`, report `results/peers_closest.md`):

    PEERS_TARGET_POLICY=closest pytest -o python_files='bench_*.py' tests/benchmarks/bench_peers.py \\
        -k "not fmn and not stored_envelope" -s

A subset of methods is a `-k` expression on the test ids (`test_peer[<method>-<model>]`,
`test_project_attack[<method>-<model>]`); each run replaces only its methods' stored results, e.g. this
project (batch 64) against DDN-100 and SciPy, re-timed:

    pytest -o python_files='bench_*.py' tests/benchmarks/bench_peers.py \\
        -k "project_b64 or (fb_ddn_100 and not fb_ddn_1000) or scipy or write_report" -s

(13 tests; SciPy, about 95% of it, runs first; `test_write_report` rewrites `results/peers.md` and `peers.json`
with the new times beside the stored ones of the other methods.)

Later versions of the attack compare with the stored peers without re-running them:

    PEERS_ATTACK_SETTINGS='{"num_c_steps": 8}' pytest -o python_files='bench_*.py' \\
        tests/benchmarks/bench_peers.py -k stored_envelope -s
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402  (the sibling module, also a script)

_PROBLEMS = {}
POLICY = os.environ.get("PEERS_TARGET_POLICY", "random")


@pytest.fixture(scope="module")
def problems(mnist):
    """`get(name)`: the `peers.Problem` of a model, built once per module."""
    def get(name):
        if name not in _PROBLEMS:
            _PROBLEMS[name] = peers.make_problem(name, mnist, policy=POLICY)
        return _PROBLEMS[name]
    return get


def _pedantic(benchmark):
    return lambda call: benchmark.pedantic(call, rounds=1, iterations=1)


def _record(benchmark, problem, method, result):
    summary = result["summary"]
    benchmark.extra_info.update({k: v for k, v in summary.items() if k != "info"}, model=problem.name, method=method,
                                key=problem.key, info=summary["info"])
    path = peers.save_result(problem, method, result)
    print(f"\n{problem.name} {method}: success {summary['success_rate']:.0%}, median L2 {summary['median_l2']:.4f}, "
          f"{summary['ms_per_example']:.1f} ms/example, {summary['grad_evals_per_example'] or 0:.0f} gradient evals "
          f"-> {path.name}")


@pytest.mark.parametrize("model_name", peers.MODELS)
@pytest.mark.parametrize("method", peers.PEER_METHODS)
def test_peer(benchmark, problems, model_name, method):
    if method.startswith("fb_"):
        pytest.importorskip("foolbox")
    problem = problems(model_name)
    _record(benchmark, problem, method, peers.run_method(method, problem, runner=_pedantic(benchmark)))


@pytest.mark.parametrize("model_name", peers.MODELS)
@pytest.mark.parametrize("method", peers.PROJECT_METHODS)
def test_project_attack(benchmark, problems, model_name, method):
    """The project's attack with default settings (batch 64 or 256), stored beside the peers."""
    problem = problems(model_name)
    settings = peers.project_settings(int(method[len("project_b"):]), overrides={})
    _record(benchmark, problem, method, peers.run_method(method, problem, settings, runner=_pedantic(benchmark)))


def test_write_report():
    """results/peers.md and peers.json from the stored files (every model and method present)."""
    rows = peers.write_report(policy=POLICY)
    assert rows, "no stored results: run the test_peer and test_project_attack benchmarks first"
    print("\n" + peers.markdown_table(rows))


@pytest.mark.parametrize("model_name", peers.MODELS)
def test_project_attack_against_stored_envelope(benchmark, problems, model_name):
    """Only the project's attack (batch 64 and 256, PEERS_ATTACK_SETTINGS overrides) against the stored peers."""
    problem = problems(model_name)
    if not peers.results_path(problem.store).exists():
        pytest.fail(f"no stored peers for {model_name}: run the whole benchmark first (it stores them)")
    runs = []

    def runner(call):
        runs.append(call)
        return benchmark.pedantic(call, rounds=1, iterations=1) if len(runs) == 1 else call()

    rows, text = peers.check_against_stored(problem, runner=runner)
    benchmark.extra_info.update(overrides=os.environ.get(peers.SETTINGS_VARIABLE) or "{}",
                                rows=[r for r in rows if r["method"].startswith("project_")])
    print(f"\n{peers.SETTINGS_VARIABLE}={os.environ.get(peers.SETTINGS_VARIABLE) or '{}'}\n{text}")
