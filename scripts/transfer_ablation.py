#!/usr/bin/env python3
"""Which attack setting drives Table 2's transfer rates: the same models and examples under each choice.

    python scripts/transfer_ablation.py --data-dir ../shared/data/mnist [--cache-dir DIR] [--num-examples 300]

Trains (or loads from the cache) the paper's six Table 1 models with the recipes of `suites/mnist.yaml`,
attacks the same seeded sample with the same random targets under each variant below (or untargeted), feeds each model's
successful adversarials to the other five, and prints per variant the mean off-diagonal transfer error
(%), the mean of each column off the diagonal, and the mean distortion (per-pixel RMS), as a Markdown table.
"""

import argparse
import dataclasses

import numpy as np

from robustbench_keras.quiet import import_tensorflow

TABLE1_MODELS = ("fc10_wd1e-4", "fc10_wd1e-2", "fc10_wd1", "fc100_100_10", "fc200_200_10", "ae400_10")
VARIANTS = {
    "suite default (margin loss, kappa 0.1, boundary step)": {},
    "paper's cross-entropy loss": {"loss": "cross_entropy"},
    "margin kappa 1": {"kappa": 1.0},
    "margin kappa 5": {"kappa": 5.0},
    "no boundary step": {"num_boundary_steps": 0},
    "success margin 1 logit": {"success_margin": 1.0},
    "untargeted (closest wrong label)": {"target_policy": "closest"},
}


def transfer_matrix(records, models, x, y):
    """{row model: {column model: error}} of each model's successful adversarials fed to every model."""
    from robustbench_keras.scorers.transfer import adversarial_row

    return {name: adversarial_row(records[name], x, y, models) for name in models}


def summarize(rows):
    """Mean off-diagonal error, per-column off-diagonal means and mean distortion of a transfer matrix."""
    names = list(rows)
    off = {column: np.mean([rows[row]["errors_on"][column] for row in names if row != column]) for column in names}
    return float(np.mean(list(off.values()))), off, float(np.mean([rows[n]["distortion_rms_mean"] for n in names]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--num-examples", type=int, default=300)
    parser.add_argument("--split", default="train", help="the paper's Table 1 sample: train")
    args = parser.parse_args()
    import_tensorflow()
    from robustbench_keras.attacks import LBFGSAttack, choose_targets, run_attack
    from robustbench_keras.data import load_dataset
    from robustbench_keras.scorers.min_distortion import sample_indices
    from robustbench_keras.suite import load_suite

    suite = load_suite("suites/mnist.yaml", data_dir=args.data_dir, cache_dir=args.cache_dir)
    dataset = load_dataset("mnist", data_dir=args.data_dir)
    models = {name: suite.load_model(name, dataset) for name in TABLE1_MODELS}
    x, y = dataset.split(args.split)
    indices = sample_indices(len(x), args.num_examples, seed=0)
    x, y = x[indices], y[indices]
    targets = choose_targets("random", models[TABLE1_MODELS[0]], x, y, seed=0)
    print("| variant | mean transfer error off the diagonal (%) | " + " | ".join(TABLE1_MODELS) + " | mean distortion |")
    print("|---" * (len(TABLE1_MODELS) + 3) + "|")
    for label, changes in VARIANTS.items():
        changes = dict(changes)
        policy = changes.pop("target_policy", "given")
        attack = LBFGSAttack(dataclasses.replace(suite.attack, **changes))
        given = targets if policy == "given" else None
        records = {name: run_attack(attack, model, x, y, target_policy=policy, targets=given, progress=False)
                   for name, model in models.items()}
        mean, columns, distortion = summarize(transfer_matrix(records, models, x, y))
        cells = " | ".join(f"{100 * columns[name]:.1f}" for name in TABLE1_MODELS)
        print(f"| {label} | {100 * mean:.1f} | {cells} | {distortion:.3f} |", flush=True)


if __name__ == "__main__":
    main()
