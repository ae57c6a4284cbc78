"""Peers of the attack on the same models, examples and targets, and their stored per-example results.

Issue 10, item 3. Three models: the zoo's `fc100_100_10` (sigmoid MLP) and `mnist_convnet`, trained by
`zoo.load_or_train` with their default recipes (seed 0, cached in ROBUSTBENCH_KERAS_CACHE_DIR), and a
784-256-256-10 ReLU MLP trained here with a fixed seed (cached beside them). Examples: the first 100
MNIST test images; targets `(y + rng.integers(1, 10)) % 10` with `np.random.default_rng(0)`, as in
`bench_attack.py`.

Methods (`METHODS`): this project's `LBFGSAttack` at batch 64 and 256, the per-example SciPy
L-BFGS-B reference (`scipy_reference.run_reference` with `SCIPY_SETTINGS`), and Foolbox 3.3.4's
targeted minimal-norm attacks on `fb.TensorFlowModel(model, bounds=(0, 1))`: C&W L2 (9 binary-search
steps x 1,000 Adam steps), DDN (100 and 1,000 steps) and FMN L2 (defaults, 100 steps), all 100
examples in one batch, `epsilons=None`, raw adversarials. An adversarial counts only if it lies in
[0, 1] and a fresh forward pass of the model (one batch of all 100) classifies it as the target; its
L2 distortion is NaN otherwise. Times are one wall-clock run per method / 100 examples (the project's
attack compiled beforehand); gradient evaluations are the model calls made under a gradient tape (the
Foolbox attacks, each call over the whole batch) or the attack's own count.

The envelope of an example is the smallest successful L2 distortion any method found; each method's
ratio to it is summarised as its mean (over the examples it succeeded on), the share within 1%, the
worst, and the share of examples without success.

Stored results (`peer_results.py`, re-exported here): `results/peers_<model>.npz`, keyed by the sha256
of the model's weights (and of the checkpoint file), of the examples and of the targets;
`load_envelope(model_name)` reads the peers' per-example distortions and their envelope back, so a new
version of the attack can be compared without re-running the slow peers:

    python tests/benchmarks/peers.py check            # this project's attack vs the stored envelope
    python tests/benchmarks/peers.py check --save     # ... and store it as project_b64/b256, rewrite peers.md
    PEERS_ATTACK_SETTINGS='{"num_c_steps": 8}' python tests/benchmarks/peers.py check --models mnist_convnet
    python tests/benchmarks/peers.py table            # rewrite results/peers.md and peers.json from the files

The full run (all methods, ~15-20 minutes on 2 cores, C&W dominating) is `bench_peers.py`. Another slice of test
images and another target seed is a held-out check; its results are filed under names with the slice's suffix
(`peers_<model>_test100-149_seed1.npz`, report `peers_test100-149_seed1.md`), and `run` stores chosen methods:

    python tests/benchmarks/peers.py run --first 100 --num-examples 50 --target-seed 1 \
        --methods project_b64 scipy_lbfgsb fb_ddn_1000 fb_cw_l2
    python tests/benchmarks/peers.py check --first 100 --num-examples 50 --target-seed 1 --batch-sizes 64
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import robustbench_keras  # noqa: F401  (silences TensorFlow before it loads)
from robustbench_keras.attacks import LBFGSAttack
from robustbench_keras.attacks.distances import distortions
from robustbench_keras.attacks.run import run_attack
from robustbench_keras.attacks.scipy_reference import REFERENCE_C_SEARCH, run_reference
from robustbench_keras.attacks.settings import AttackSettings
from robustbench_keras.quiet import import_tensorflow

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_results import (  # noqa: E402  (the sibling module: storage, envelope, report; no TensorFlow)
    ExampleSlice, METHOD_LABELS, METHODS, MODEL_LABELS, MODELS, PEER_METHODS, PROJECT_METHODS, RESULTS_DIR, envelope_of,
    TARGET_POLICIES, load_envelope, load_results, markdown_table, outliers, ratios, results_path, save_result,
    store_name, table_rows, write_report)
from peer_problems import CACHE_DIR, NUM_EXAMPLES, RELU_RECIPE, Problem, load_mnist, make_problem  # noqa: E402

__all__ = ["CACHE_DIR", "ExampleSlice", "NUM_EXAMPLES", "RELU_RECIPE", "load_mnist", "METHOD_LABELS", "METHODS", "MODEL_LABELS", "MODELS", "PEER_METHODS", "PROJECT_METHODS", "RESULTS_DIR",
           "CountingModel", "Problem", "check_against_stored", "envelope_of", "load_envelope", "load_results",
           "make_problem", "markdown_table", "outliers", "project_settings", "ratios", "results_path", "run_method",
           "save_result", "store_name", "table_rows", "write_report"]

tf = import_tensorflow()
SETTINGS_VARIABLE = "PEERS_ATTACK_SETTINGS"
SCIPY_SETTINGS = AttackSettings(**REFERENCE_C_SEARCH)  # the held-out SciPy peers ran it; the stored 100 ran 6 c steps


def predicted(model, x):
    """The model's argmax on x, one fresh forward pass over the whole array."""
    return np.argmax(np.asarray(model(tf.constant(x, tf.float32), training=False)), axis=1)


def measure(problem, x_adv, seconds, grad_evals):
    """Per-example success (in the box and classified as the target; untargeted: as any wrong label) and
    distortions, and the aggregates."""
    x_adv = np.asarray(x_adv, np.float32).reshape(problem.x.shape)
    flat = x_adv.reshape(len(x_adv), -1)
    in_box = np.all((flat >= 0.0) & (flat <= 1.0), axis=1)
    labels = predicted(problem.model, x_adv)
    success = in_box & ((labels == problem.targets) if problem.policy == "random" else (labels != problem.y))
    measured = distortions(problem.x, x_adv)
    l2 = np.where(success, measured["l2"], np.nan)
    rms = np.where(success, measured["rms"], np.nan)
    n = len(x_adv)
    return {
        "l2": l2, "rms": rms, "success": success, "ms": np.full(n, 1e3 * seconds / n),
        "summary": {
            "success_rate": float(np.mean(success)), "mean_l2": _nan(np.nanmean, l2), "median_l2": _nan(np.nanmedian, l2),
            "mean_rms": _nan(np.nanmean, rms), "median_rms": _nan(np.nanmedian, rms),
            "ms_per_example": 1e3 * seconds / n, "seconds": float(seconds),
            "grad_evals_per_example": None if grad_evals is None else float(grad_evals),
            "out_of_box": int(np.sum(~in_box)),
        },
    }

def _nan(reduce, values):
    return float(reduce(values)) if np.isfinite(values).any() else float("nan")

class CountingModel:
    """The Keras model as Foolbox calls it, counting the calls made under a gradient tape and without."""

    def __init__(self, model):
        from tensorflow.python.eager import record

        self.model, self._recording = model, record.could_possibly_record
        self.gradient_calls = self.forward_calls = 0

    def __call__(self, x):
        if self._recording():
            self.gradient_calls += 1
        else:
            self.forward_calls += 1
        return self.model(x, training=False)


def foolbox_attack(method):
    """The Foolbox 3 attack object of a `fb_*` method."""
    import foolbox as fb

    if method == "fb_cw_l2":
        return fb.attacks.L2CarliniWagnerAttack(binary_search_steps=9, steps=1000)
    if method.startswith("fb_ddn_"):
        return fb.attacks.DDNAttack(steps=int(method.rsplit("_", 1)[1]))
    if method == "fb_fmn_l2":
        return fb.attacks.L2FMNAttack()
    raise ValueError(method)


def project_settings(batch_size, overrides=None):
    """`AttackSettings(batch_size=...)` with the overrides of PEERS_ATTACK_SETTINGS (JSON object) or `overrides`."""
    if overrides is None:
        overrides = json.loads(os.environ.get(SETTINGS_VARIABLE) or "{}")
    overrides = {k: v for k, v in overrides.items() if k != "batch_size"}
    return AttackSettings(**{**overrides, "batch_size": batch_size})


class _SciPyAttack:
    """`run_reference` with an attack's interface, for `run_attack`."""

    def __init__(self, settings):
        self.settings = settings

    def run(self, model, x, targets, labels=None, progress=False):
        return run_reference(self.settings, model, x, targets, labels)


def _attack(attack, problem):
    """The attack's records on the problem: toward its targets, or untargeted (`run_attack`, policy "closest")."""
    if problem.policy == "random":
        return attack.run(problem.model, problem.x, problem.targets, problem.y)
    return run_attack(attack, problem.model, problem.x, problem.y, target_policy=problem.policy, progress=False)


def prepare(method, problem, settings=None):
    """A zero-argument callable doing the timed work of `method` on `problem`, set up (and compiled) beforehand.

    Calling it returns (x_adv, seconds, grad evals per example, info).
    """
    x, y, targets, model = problem.x, problem.y, problem.targets, problem.model
    if method in PROJECT_METHODS:
        attack = LBFGSAttack(settings or project_settings(int(method[len("project_b"):])))
        _attack(attack, problem)  # compiles every kernel of the timed run (its batch sizes, the rescue) untimed

        def call():
            started = time.perf_counter()
            records = _attack(attack, problem)
            seconds = time.perf_counter() - started
            return records.x_adv, seconds, float(np.mean(records.num_grad_evals)), {
                "settings": attack.settings.to_json(), "claimed_success": int(records.success.sum()),
                "forward_evals_per_example": float(np.mean(records.num_forward_evals))}
        return call
    if method == "scipy_lbfgsb":
        settings = settings or SCIPY_SETTINGS  # its per-example function is traced inside (as in bench_attack)

        def call():
            started = time.perf_counter()
            records = _attack(_SciPyAttack(settings), problem)
            seconds = time.perf_counter() - started
            return records.x_adv, seconds, float(np.mean(records.num_grad_evals)), {
                "settings": records.metadata["attack"], "claimed_success": int(records.success.sum()),
                "ms_per_example_each": (1e3 * records.time_s).tolist()}
        return call
    import foolbox as fb

    counted = CountingModel(model)
    fmodel = fb.TensorFlowModel(counted, bounds=(0, 1))
    attack = foolbox_attack(method)
    criterion = (fb.criteria.TargetedMisclassification(tf.constant(targets, tf.int64)) if problem.policy == "random"
                 else fb.criteria.Misclassification(tf.constant(y, tf.int64)))
    inputs = tf.constant(x)
    counted(inputs[:1])  # the first eager call builds what it needs

    def call():
        counted.gradient_calls = counted.forward_calls = 0
        started = time.perf_counter()
        raw, _, claimed = attack(fmodel, inputs, criterion, epsilons=None)
        seconds = time.perf_counter() - started
        return raw.numpy(), seconds, float(counted.gradient_calls), {
            "attack": repr(attack), "foolbox": fb.__version__, "claimed_success": int(np.sum(claimed.numpy())),
            "forward_calls": counted.forward_calls, "batch": len(x)}
    return call


def run_method(method, problem, settings=None, runner=None):
    """Runs `method` once on `problem`; returns `measure(...)` with `summary["info"]`.

    `runner(call)` runs the prepared call (e.g. `benchmark.pedantic` with one round); default: call it.
    """
    call = prepare(method, problem, settings)
    x_adv, seconds, grad_evals, info = (runner or (lambda f: f()))(call)
    result = measure(problem, x_adv, seconds, grad_evals)
    if "ms_per_example_each" in info:
        result["ms"] = np.asarray(info.pop("ms_per_example_each"))
    result["summary"]["info"] = info
    return result

def check_against_stored(problem, batch_sizes=(64, 256), overrides=None, results_dir=RESULTS_DIR, runner=None,
                         save=False):
    """Runs only this project's attack and compares it with the stored envelope; returns (rows, table text).

    The envelope is the stored peers' (Foolbox, SciPy) and these new runs' per example. With `save`, the new
    runs replace the stored `project_b<size>` results (then `write_report` renders them).
    """
    l2, _ = load_envelope(problem.store, results_dir, key=problem.key)
    _, stored = load_results(problem.store, results_dir)
    results = {m: stored[m] for m in l2}
    for size in batch_sizes:
        results[f"project_b{size}"] = run_method(f"project_b{size}", problem, project_settings(size, overrides),
                                                 runner=runner)
        if save:
            save_result(problem, f"project_b{size}", results[f"project_b{size}"], results_dir)
    order = tuple(f"project_b{size}" for size in batch_sizes) + PEER_METHODS
    rows = table_rows({problem.name: results}, methods=order)
    text = markdown_table(rows)
    found = outliers(results, method=f"project_b{batch_sizes[-1]}", methods=order)
    text += f"\n{problem.name}: batch {batch_sizes[-1]} > 1% above the envelope at " + (", ".join(
        f"test image {i + problem.examples.first} ({r:.4f}, best {m})" for i, r, m, _ in found) or "no example") + "\n"
    return rows, text


def run_and_save(problem, methods):
    """Runs each method once on the problem (this project's attack with PEERS_ATTACK_SETTINGS) and stores it."""
    for method in methods:
        settings = project_settings(int(method[len("project_b"):])) if method in PROJECT_METHODS else None
        result = run_method(method, problem, settings)
        save_result(problem, method, result)
        summary = result["summary"]
        print(f"{problem.name} {method}: success {summary['success_rate']:.0%}, {summary['ms_per_example']:.1f} ms / "
              f"example (load {os.getloadavg()[0]:.1f}), {summary['grad_evals_per_example'] or 0:.0f} gradient evals",
              flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("check", "run", "table"))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--policy", default="random", choices=TARGET_POLICIES,
                        help="random targets, or untargeted (closest; stored as peers_<model>_closest.npz)")
    parser.add_argument("--save", action="store_true",
                        help="check: store the new runs as project_b<size> and rewrite results/peers.md and peers.json")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        help="run: the methods to run and store")
    parser.add_argument("--first", type=int, default=ExampleSlice.first, help="the slice's first test image")
    parser.add_argument("--num-examples", type=int, default=ExampleSlice.num_examples, help="test images in the slice")
    parser.add_argument("--target-seed", type=int, default=ExampleSlice.target_seed, help="seed of the random targets")
    args = parser.parse_args(argv)
    examples = ExampleSlice(args.first, args.num_examples, args.target_seed)
    if examples.first < 0 or examples.num_examples < 1:
        parser.error(f"--first must be >= 0 and --num-examples >= 1, got {examples.first} and {examples.num_examples}")
    if args.command == "table":
        print(markdown_table(write_report(models=args.models, policy=args.policy, examples=examples)), end="")
        return
    mnist = load_mnist()
    print(f"settings overrides ({SETTINGS_VARIABLE}): {os.environ.get(SETTINGS_VARIABLE) or '{}'}")
    for name in args.models:
        try:  # a slice past the test set, or no stored peers for it (or stored for other examples)
            problem = make_problem(name, mnist, policy=args.policy, examples=examples)
            if args.command == "check":
                load_envelope(problem.store, key=problem.key)
        except (ValueError, FileNotFoundError) as error:
            parser.exit(2, f"peers.py: error: {error}\n")
        if args.command == "run":
            run_and_save(problem, args.methods)
        else:
            print(check_against_stored(problem, tuple(args.batch_sizes), save=args.save)[1])
    if args.save or args.command == "run":
        write_report(policy=args.policy, examples=examples)


if __name__ == "__main__":
    sys.exit(main())
