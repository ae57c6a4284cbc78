#!/usr/bin/env python3
"""Adversarial examples of the plain and the randomly masked conv nets side by side, from a run's records.

    python scripts/random_mask_figure.py results/defenses --data-dir ../shared/data/mnist \
        [--models mnist_convnet mnist_convnet_seed1 mnist_convnet_mask50 mnist_convnet_mask80] [--num-examples 8]

Reads the run's leaderboard and each model's min_distortion records (checked by sha256), takes the first
examples every listed model's attack won (same images, same targets) and writes
`<run>/figures/random_mask_side_by_side.png`.
"""

import argparse
from pathlib import Path

import numpy as np

DEFAULT_MODELS = ("mnist_convnet", "mnist_convnet_seed1", "mnist_convnet_mask50", "mnist_convnet_mask80")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--num-examples", type=int, default=8)
    args = parser.parse_args()

    from robustbench_keras.data import load_dataset
    from robustbench_keras.leaderboard.store import load_leaderboard
    from robustbench_keras.plots.side_by_side import plot_side_by_side
    from robustbench_keras.scorers.min_distortion import load_records, sample_indices

    document = load_leaderboard(args.run / "leaderboard.json")
    entries = {entry["id"]: entry for entry in document["entries"]}
    settings = document["scorers"]["min_distortion"]
    split = next(iter(entries[args.models[0]]["min_distortion"]))
    records = {m: load_records(entries[m]["min_distortion"][split], args.run) for m in args.models}
    x, y = load_dataset(document["data_fingerprint"]["dataset"], args.data_dir).split(split)
    indices = sample_indices(len(x), settings["num_examples"], entries[args.models[0]]["seed"])
    won = np.logical_and.reduce([r.success for r in records.values()])
    shown = np.flatnonzero(won)[:args.num_examples]
    first = next(iter(records.values()))
    path = args.run / "figures" / "random_mask_side_by_side.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    plot_side_by_side(path, x[indices][shown], {m: r.x_adv[shown] for m, r in records.items()}, y[indices][shown],
                      first.target[shown])
    print(path)


if __name__ == "__main__":
    main()
