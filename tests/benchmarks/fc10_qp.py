"""The attack on the zoo's FC10(1e-4) against the exact QP optimum, targeted and untargeted.

    python tests/benchmarks/fc10_qp.py            # prints the table, writes results/fc10_qp.json

The peers' problem (`peers.make_problem`: first 100 MNIST test images, seeded random targets) on the
zoo's `fc10_wd1e-4` (cached in ROBUSTBENCH_KERAS_CACHE_DIR). Random targets: the attack's L2 over the
exact QP optimum (`qp_oracle`) per example. Untargeted (`target_policy: closest`): over the smallest
exact optimum of the 9 wrong labels. Default `AttackSettings` at batch 64.
"""

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
from peer_results import PROVENANCE  # noqa: E402

from robustbench_keras.attacks import LBFGSAttack  # noqa: E402
from robustbench_keras.attacks.qp_oracle import affine_parameters, exact_minimal_distortion  # noqa: E402
from robustbench_keras.attacks.run import run_attack  # noqa: E402

MODEL = "fc10_wd1e-4"


def summary(attack_l2, exact):
    """Mean ratio, share within 1%, worst ratio, success. An example the model already gives the target (or,
    untargeted, misclassifies) has optimum 0: ratio 1 if the attack returns it unchanged."""
    l2 = np.asarray(attack_l2, np.float64)
    ratio = np.where(exact > 0, l2 / np.where(exact > 0, exact, 1.0), np.where(l2 == 0, 1.0, np.inf))
    ratio = np.where(np.isfinite(l2), ratio, np.inf)
    return {"mean_ratio": float(np.mean(ratio)), "within_1pct": float(np.mean(ratio <= 1.01)),
            "worst_ratio": float(np.max(ratio)), "success": float(np.mean(np.isfinite(l2))),
            "optimum_zero": int(np.sum(exact == 0))}


def main():
    mnist = peers.load_mnist()
    problem = peers.make_problem(MODEL, mnist)
    w, b = affine_parameters(problem.model, problem.x.shape[1:])
    attack = LBFGSAttack(peers.project_settings(64))
    x, y, n = problem.x, problem.y, len(problem.x)
    wrong = (np.arange(9)[None] + (np.arange(9)[None] >= y[:, None])).reshape(-1)
    exact_all = exact_minimal_distortion(w, b, np.repeat(x, 9, axis=0), wrong).distance.reshape(n, 9)
    rows = {}
    for policy in ("random", "closest"):
        started = time.perf_counter()
        if policy == "random":
            records = attack.run(problem.model, x, problem.targets, y)
            exact = exact_minimal_distortion(w, b, x, problem.targets).distance
        else:
            records = run_attack(attack, problem.model, x, y, target_policy="closest", progress=False)
            exact = exact_all.min(axis=1)
        rows[policy] = dict(summary(records.distortion_l2, exact), seconds=time.perf_counter() - started,
                            grad_evals_per_example=float(np.mean(records.num_grad_evals)))
    result = {"model": MODEL, "key": problem.key, "settings": attack.settings.to_json(), "policies": rows,
              "provenance": PROVENANCE}
    (peers.RESULTS_DIR / "fc10_qp.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print("| policy | mean ratio to the exact QP | within 1% | worst | success | optimum 0 | gradient evals / example |")
    print("| --- | --: | --: | --: | --: | --: | --: |")
    for policy, row in rows.items():
        print(f"| {policy} | {row['mean_ratio']:.5f} | {100 * row['within_1pct']:.0f}% | {row['worst_ratio']:.4f} "
              f"| {100 * row['success']:.0f}% | {row['optimum_zero']} | {row['grad_evals_per_example']:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
