"""Benchmark: one refresh of an adversarial pool, and one epoch with and without adversarial examples.

Run: pytest -o python_files='bench_*.py' tests/benchmarks/bench_adversarial_training.py --benchmark-save=adv

FC100-100-10 (the zoo's recipe) on the first 10,000 MNIST training images: `refresh` replaces a quarter
of a 2,000-point input pool (the recipe's defaults), and the epochs are `mixed_epoch` + one Keras fit
with the pool mixed in (mix ratio 0.25) and without it (mix ratio 0). The machine's 2 cores are shared,
so times are noisy.
"""

import numpy as np
import pytest

from robustbench_keras import zoo
from robustbench_keras.zoo import adversarial_training as at

NUM_IMAGES = 10_000


@pytest.fixture(scope="module")
def setup(mnist):
    recipe = zoo.get("fc100_100_10_adv_input").recipe
    model = zoo.build("fc100_100_10", 0, recipe)
    x, y = mnist.x_train[:NUM_IMAGES], mnist.y_train[:NUM_IMAGES]
    at._compile(model, recipe, 1000)
    pool = at.refresh(None, recipe.adversarial, model, x, y, np.random.default_rng(0))
    return recipe, model, x, y, pool


def test_one_pool_refresh(benchmark, setup):
    recipe, model, x, y, pool = setup
    rng = np.random.default_rng(1)
    benchmark.pedantic(at.refresh, args=(pool, recipe.adversarial, model, x, y, rng), rounds=3, iterations=1)


@pytest.mark.parametrize("mix_ratio", [0.0, 0.25])
def test_one_epoch(benchmark, setup, mix_ratio):
    recipe, model, x, y, pool = setup
    rng = np.random.default_rng(2)

    def epoch():
        x_mix, y_mix = at.mixed_epoch(x, y, pool if mix_ratio else None, recipe.batch_size, mix_ratio, rng)
        model.fit(x_mix, y_mix, batch_size=recipe.batch_size, epochs=1, shuffle=False, verbose=0)

    benchmark.pedantic(epoch, rounds=3, iterations=1)
