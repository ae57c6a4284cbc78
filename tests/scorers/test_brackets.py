"""Brackets on a tiny ReLU net: Lipschitz and L∞ lower bounds never exceed a sampled attack's distortion."""

import types

import keras
import numpy as np
import pytest

from robustbench_keras.scorers import brackets
from robustbench_keras.scorers.spectral import layer_bounds
from robustbench_keras.verification.bounds import network_steps


@pytest.fixture(scope="module")
def net():
    keras.utils.set_random_seed(1)
    init = keras.initializers.RandomNormal(stddev=0.8, seed=1)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, "relu", kernel_initializer=init,
                                                                   bias_initializer=init),
                             keras.layers.Dense(3, kernel_initializer=init, bias_initializer=init)])


def _sampled_attack(model, x, rng):
    """Per example the sampled point of smallest L∞ that the model puts in another class (a crude attack)."""
    label = np.argmax(model(x).numpy(), axis=1)
    radii = np.repeat(np.linspace(0.01, 1.0, 50), 40)[:, None]
    points = np.clip(x[:, None] + radii * rng.uniform(-1, 1, size=(len(x), len(radii), 4)), 0, 1).astype("float32")
    predicted = np.argmax(model(points.reshape(-1, 4)).numpy(), axis=1).reshape(len(x), len(radii))
    rows = []
    for i in range(len(x)):
        hits = np.flatnonzero(predicted[i] != label[i])
        r = points[i, hits[0]] - x[i] if hits.size else np.full(4, np.nan)  # none: a failed attack
        rows.append((label[i], predicted[i, hits[0]] if hits.size else label[i], np.linalg.norm(r), np.abs(r).max()))
    label, target, l2, linf = (np.array(c) for c in zip(*rows))
    return types.SimpleNamespace(index=np.arange(len(x)), label=label, target=target, success=np.isfinite(l2),
                                 distortion_l2=l2, distortion_linf=linf)


def test_lower_bounds_never_exceed_the_attack_and_the_width_follows(net):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.3, 0.7, size=(10, 4)).astype("float32")
    records = _sampled_attack(net, x, rng)
    result = brackets.bracket(net, network_steps(net), layer_bounds(net), x, records, num_examples=10,
                              exact_max_relus=10, time_limit_s=30, relative_gap=1e-3)
    assert result["index"] == list(np.flatnonzero(records.success)) and len(result["index"]) >= 4
    records = types.SimpleNamespace(**{k: v[result["index"]] for k, v in vars(records).items()})
    lipschitz, exact = np.array(result["lipschitz_l2"]), np.array(result["exact_linf"])
    lower, upper = np.array(result["linf_lower"]), np.array(result["linf_upper"])
    assert result["exact_share"] == 1.0 and np.all(exact > 0) and np.all(np.array(result["linf_time_s"]) > 0)
    assert np.array_equal(exact, upper) and np.all(lower <= upper) and np.all(upper <= lower * (1 + 1e-3))
    assert np.all(lipschitz <= records.distortion_l2 + 1e-9)
    assert np.all(exact <= records.distortion_linf * (1 + 1e-5))
    assert np.all(lipschitz <= 2.0 * exact + 1e-6)  # ||r||₂ ≤ √4 ||r||∞ at the exact optimum
    width = records.distortion_l2 / np.maximum(lipschitz, lower)
    assert result["width_median"] == pytest.approx(np.median(width))
    assert result["linf_ratio_p90"] == pytest.approx(np.quantile(records.distortion_linf / exact, 0.9))
    assert result["width_median"] >= 1 and result["linf_ratio_median"] >= 1 - 1e-5


def test_without_a_verifiable_net_only_the_lipschitz_bound_is_given(net):
    rng = np.random.default_rng(1)
    x = rng.uniform(0.3, 0.7, size=(10, 4)).astype("float32")
    result = brackets.bracket(net, None, layer_bounds(net), x, _sampled_attack(net, x, rng), num_examples=2,
                              exact_max_relus=10, time_limit_s=30, relative_gap=1e-3)
    assert result["exact_linf"] == result["linf_lower"] == result["linf_upper"] == [None, None]
    assert result["exact_share"] is None and result["linf_ratio_median"] is None
    assert result["width_median"] is not None and len(result["index"]) == 2
