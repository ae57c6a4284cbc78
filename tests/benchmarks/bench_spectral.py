"""Benchmark: Table 5 bound per layer at MNIST conv-net and AlexNet sizes (goal: <= 10 s per AlexNet layer).

Run: pytest -o python_files='bench_*.py' tests/benchmarks/bench_spectral.py --benchmark-save=spectral
Each AlexNet row records its bound next to the paper's Table 5 value in `extra_info`. The AlexNet is the
seeded initialisation of `build_alexnet(seed=0)`: the paper bounded trained weights, which cannot be
downloaded here, so the values are not expected to match.
"""

import keras
import pytest

from robustbench_keras.scorers import conv_bounds, spectral
from robustbench_keras.zoo.alexnet import build_alexnet

# Szegedy et al. 2014, Table 5: upper bound per AlexNet layer (trained weights).
PAPER_TABLE_5 = {"conv1": 2.75, "conv2": 10, "conv3": 7, "conv4": 7.5, "conv5": 11, "fc1": 3.12, "fc2": 4, "fc3": 4}
SETTINGS = spectral.Settings()


@pytest.fixture(scope="module")
def alexnet():
    return build_alexnet(seed=0)


@pytest.fixture(scope="module")
def mnist_convnet():
    from robustbench_keras import zoo

    return zoo.build("mnist_convnet", seed=0)


def bound_layer(layer):
    """The layer's bound with the details of how it was reached."""
    kernel = layer.kernel.numpy()
    if isinstance(layer, keras.layers.Conv2D):
        result = conv_bounds.conv_bound(kernel, layer.strides, SETTINGS.tolerance, SETTINGS.initial_grid)
        return {"bound": result.upper, "lower": result.lower, "num_frequencies": result.num_frequencies}
    return {"bound": spectral.spectral_norm(kernel)}


def record(benchmark, layer, details):
    benchmark.extra_info.update(details)
    benchmark.extra_info.update(
        kernel_shape=list(layer.kernel.shape), strides=list(getattr(layer, "strides", ())), tolerance=SETTINGS.tolerance
    )


@pytest.mark.parametrize("name", ["conv_1", "conv_2", "hidden_1", "logits"])
def test_mnist_convnet_layer_bound(benchmark, mnist_convnet, name):
    layer = mnist_convnet.get_layer(name)
    record(benchmark, layer, benchmark(bound_layer, layer))


@pytest.mark.parametrize("name", list(PAPER_TABLE_5))
def test_alexnet_layer_bound(benchmark, alexnet, name):
    layer = alexnet.get_layer(name)
    details = benchmark.pedantic(bound_layer, args=(layer,), rounds=1, iterations=1)
    record(benchmark, layer, details)
    benchmark.extra_info.update(paper_bound=PAPER_TABLE_5[name], weights="seeded Glorot-uniform initialisation, seed 0")
    print(f"\n{name}: bound {details['bound']:.4g} (paper, trained weights: {PAPER_TABLE_5[name]}) {details}")
