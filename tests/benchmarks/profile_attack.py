"""The attack's floor ratio per phase: where its wall time goes beyond its gradient evaluations.

    python tests/benchmarks/profile_attack.py --models fc100_100_10 mnist_convnet --batch-size 64

Attacks the peers' problem (`peers.make_problem`: 100 MNIST test images, seeded random targets) once to
compile, then once timed with every kernel of the `BatchSolver` wrapped by a timer. Per phase (c-search
solves, boundary steps, projection steps, DDN second start, boundary walk, rescue, and the rest: Python and
NumPy between kernels) it prints the wall seconds, the gradient and forward evaluations the attack counts for it, the
floor (those evaluations, padding rows included, x the time of one fully batched value-and-gradient or
forward pass per row, from `bench_attack.evaluation_times`) and their ratio; then the issue's floor ratio:
total time / (the evaluations the records count per example x that time x examples). `--cpu` times the
process's CPU time (all threads) instead of wall time: on a machine shared with other jobs it is what
stays comparable. Each kernel's trace count shows whether anything retraced.
"""

import argparse
import collections
import os
import sys
import time

import numpy as np

_clock, CLOCK_LABEL = time.perf_counter, "wall time"  # --cpu: time.process_time, robust to other jobs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
from bench_attack import evaluation_times  # noqa: E402

from robustbench_keras.attacks import LBFGSAttack  # noqa: E402
from robustbench_keras.attacks.lbfgs import balanced_batch_size  # noqa: E402

PHASES = ("c-search solves", "boundary steps", "projection steps", "DDN second start", "boundary walk", "rescue",
          "other")
KERNELS = ("solve", "refine", "margins", "project", "ddn", "walk")


def _timed(clock, counts, phase_of, name, solver):
    """`solver.<name>` timed, with the batched evaluations it runs counted as (gradient, forward) rows."""
    kernel, s = getattr(solver, name), solver.settings
    per_call = {"refine": (0, s.num_boundary_steps), "margins": (0, 1), "walk": (s.num_walk_steps, 0),
                "ddn": (s.num_ddn_steps, 0),
                "project": ((s.num_projection_steps + 1) * min(s.projection_competitors, solver.num_classes - 1), 0)}

    def call(*args):
        calls = int(solver.num_calls.numpy())
        started = _clock()
        result = kernel(*args)
        if name == "solve":
            result[0].numpy()
        phase = phase_of(name)
        clock[phase] += _clock() - started
        grad, forward = (int(solver.num_calls.numpy()) - calls, 0) if name == "solve" else per_call[name]
        counts[phase] = (counts[phase][0] + grad * solver.batch_size, counts[phase][1] + forward * solver.batch_size)
        return result
    return call


def profile(problem, settings):
    """Per phase the seconds and the (gradient, forward) evaluations of one attack on `problem`, kernels
    compiled beforehand; with its records and total seconds."""
    attack = LBFGSAttack(settings)
    model, x, targets, y = problem.model, problem.x, problem.targets, problem.y
    attack.run(model, x, targets, y)  # compile every kernel (the rescue's included when it runs)
    clock, counts = collections.defaultdict(float), collections.defaultdict(lambda: (0, 0))
    in_rescue = [False]
    phase_of = lambda name: "rescue" if in_rescue[0] else {
        "solve": "c-search solves", "refine": "boundary steps", "margins": "boundary steps",
        "project": "projection steps", "ddn": "DDN second start", "walk": "boundary walk"}[name]
    rescue = attack._rescue

    def timed_rescue(*args):
        in_rescue[0] = True
        try:
            return rescue(*args)
        finally:
            in_rescue[0] = False

    attack._rescue = timed_rescue
    wrapped = []
    for solver in solvers(model):
        for name in KERNELS:
            wrapped.append((solver, name, getattr(solver, name)))
            setattr(solver, name, _timed(clock, counts, phase_of, name, solver))
    try:
        started = _clock()
        records = attack.run(model, x, targets, y)
        total = _clock() - started
    finally:
        for solver, name, original in wrapped:
            setattr(solver, name, original)
    clock["other"] = total - sum(clock[p] for p in PHASES[:-1])
    return dict(clock), dict(counts), records, total


def solvers(model):
    """Every compiled `BatchSolver` of `model` (the main search's and the rescue's)."""
    from robustbench_keras.attacks.lbfgs import _SOLVERS

    return list(_SOLVERS.get(model, {}).values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["fc100_100_10"], choices=peers.MODELS)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cpu", action="store_true", help="process CPU time (all threads) instead of wall time")
    args = parser.parse_args(argv)
    global _clock, CLOCK_LABEL
    _clock, CLOCK_LABEL = (time.process_time, "CPU time") if args.cpu else (time.perf_counter, "wall time")
    mnist = peers.load_mnist()
    for name in args.models:
        problem = peers.make_problem(name, mnist)
        settings = peers.project_settings(args.batch_size)
        clock, counts, records, total = profile(problem, settings)
        rows = balanced_batch_size(len(problem.x), settings.batch_size)  # the batch the attack runs at
        gradient_s, forward_s = evaluation_times(problem.model, problem.x, problem.targets, rows,
                                                 LBFGSAttack(settings), clock=_clock)
        print(f"\n{name}, batch {settings.batch_size} (run as {rows}), {len(problem.x)} examples, {CLOCK_LABEL}: "
              f"total {total:.2f} s; "
              f"one batched value-and-gradient {1e6 * gradient_s:.1f} us/row, forward {1e6 * forward_s:.1f} us/row")
        print("| phase | seconds | batched gradient evals (rows) | forward evals (rows) | floor s | ratio |")
        print("| --- | --: | --: | --: | --: | --: |")
        floors = {}
        for phase in PHASES:
            grad, forward = counts.get(phase, (0, 0))
            floors[phase] = grad * gradient_s + forward * forward_s
            ratio = f"{clock.get(phase, 0.0) / floors[phase]:.2f}" if floors[phase] else "-"
            print(f"| {phase} | {clock.get(phase, 0.0):.3f} | {grad} | {forward} | {floors[phase]:.3f} | {ratio} |")
        floor = sum(floors.values())
        print(f"| total | {total:.3f} | | | {floor:.3f} | {total / floor:.2f} |")
        recorded = len(problem.x) * (np.mean(records.num_grad_evals) * gradient_s
                                     + np.mean(records.num_forward_evals) * forward_s)
        print(f"floor ratio as the issue defines it (recorded evaluations per example, no padding): "
              f"{total / recorded:.2f}")
        print(f"success {records.success.mean():.0%}, median L2 {np.nanmedian(records.distortion_l2):.4f}, "
              f"recorded gradient evals / example {np.mean(records.num_grad_evals):.0f}; traces per kernel (two runs): "
              + ", ".join(f"{k} {getattr(s, k).experimental_get_tracing_count()}" for s in solvers(problem.model)
                          for k in KERNELS))


if __name__ == "__main__":
    sys.exit(main())
