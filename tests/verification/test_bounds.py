"""Interval bounds against brute-force sampling: no sampled point of the ball leaves them."""

import keras
import numpy as np
import pytest

from robustbench_keras.errors import ModelError
from robustbench_keras.verification.bounds import interval_bounds, network_steps, relu_counts


@pytest.fixture(scope="module")
def conv_net():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((8, 8), name="image")
    h = keras.layers.Reshape((8, 8, 1), name="channels")(inputs)
    h = keras.layers.Conv2D(3, 3, strides=2, activation="relu", bias_initializer="random_normal", name="conv_1")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dense(6, "relu", bias_initializer="random_normal", name="hidden_1")(h)
    return keras.Model(inputs, keras.layers.Dense(3, name="logits")(h))


def test_bounds_at_zero_radius_are_the_forward_pass(conv_net):
    x = np.random.default_rng(0).uniform(size=(4, 8, 8)).astype("float32")
    lower, upper = interval_bounds(network_steps(conv_net), x, 0.0)[-1]
    np.testing.assert_allclose(lower, conv_net.predict(x, verbose=0), atol=1e-5)
    np.testing.assert_allclose(upper, lower)


def test_no_sampled_point_leaves_the_bounds(conv_net):
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(2, 8, 8)).astype("float32")
    steps, epsilon = network_steps(conv_net), 0.1
    bounds = interval_bounds(steps, x, epsilon)
    names = ["conv_1", "hidden_1", "logits"]
    probe = keras.Model(conv_net.inputs, [conv_net.get_layer(n).output for n in names])
    for i in range(2):
        corners = rng.choice([-epsilon, epsilon], size=(500, 8, 8))
        inside = rng.uniform(-epsilon, epsilon, size=(500, 8, 8))
        samples = np.clip(x[i] + np.concatenate([corners, inside]), 0, 1).astype("float32")
        outputs = probe.predict(samples, verbose=0)
        for (lower, upper), step, out in zip(bounds, steps, outputs):
            out = out.reshape(len(samples), -1)
            lo, hi = (np.maximum(lower[i], 0), np.maximum(upper[i], 0)) if step.relu else (lower[i], upper[i])
            assert np.all(out >= lo - 1e-5) and np.all(out <= hi + 1e-5)


def test_relu_counts_partition_every_layer(conv_net):
    x = np.random.default_rng(2).uniform(size=(3, 8, 8)).astype("float32")
    steps = network_steps(conv_net)
    counts = relu_counts(steps, interval_bounds(steps, x, 0.05))
    assert list(counts) == ["conv_1", "hidden_1"]
    for name, size in (("conv_1", 27), ("hidden_1", 6)):
        c = counts[name]
        np.testing.assert_array_equal(c["num_active"] + c["num_inactive"] + c["num_unstable"], size)
    assert relu_counts(steps, interval_bounds(steps, x, 0.0))["hidden_1"]["num_unstable"].sum() == 0


def test_sigmoid_net_is_refused():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, "sigmoid", name="hidden_1"), keras.layers.Dense(2)])
    with pytest.raises(ModelError, match="hidden_1.*sigmoid"):
        network_steps(model)


def test_linear_bounds_hold_for_sampled_points_and_are_never_looser(conv_net):
    from robustbench_keras.verification.linear_bounds import linear_bounds

    rng = np.random.default_rng(4)
    x = rng.uniform(size=(2, 8, 8)).astype("float32")
    steps, epsilon = network_steps(conv_net), 0.15
    tight, loose = linear_bounds(steps, x, epsilon), interval_bounds(steps, x, epsilon)
    probe = keras.Model(conv_net.inputs, [conv_net.get_layer(n).output for n in ["conv_1", "hidden_1", "logits"]])
    for i in range(2):
        noise = np.concatenate([rng.choice([-epsilon, epsilon], size=(500, 8, 8)),
                                rng.uniform(-epsilon, epsilon, size=(500, 8, 8))])
        outputs = probe.predict(np.clip(x[i] + noise, 0, 1).astype("float32"), verbose=0)
        for (lower, upper), step, out in zip(tight, steps, outputs):
            out = out.reshape(1000, -1)  # pre-activations are not probed for the ReLU layers: compare after ReLU
            lo, hi = (np.maximum(lower[i], 0), np.maximum(upper[i], 0)) if step.relu else (lower[i], upper[i])
            assert np.all(out >= lo - 1e-5) and np.all(out <= hi + 1e-5)
    for (tl, tu), (ll, lu) in zip(tight, loose):
        assert np.all(tl >= ll) and np.all(tu <= lu)
    assert sum((tu - tl).sum() for tl, tu in tight[1:]) < sum((lu - ll).sum() for ll, lu in loose[1:])
