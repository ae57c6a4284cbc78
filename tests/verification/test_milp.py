"""The MIPVerify program against exhaustive enumeration of activation patterns (one scipy LP per pattern)."""

import itertools

import keras
import numpy as np
import pytest
import scipy.optimize

from robustbench_keras.verification.bounds import network_steps
from robustbench_keras.verification.milp import minimal_linf_distortion, minimal_margin, verify


@pytest.fixture(scope="module")
def tiny_net():
    keras.utils.set_random_seed(0)
    init = keras.initializers.RandomNormal(stddev=0.8, seed=0)
    return keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(4, "relu", kernel_initializer=init, bias_initializer=init),
        keras.layers.Dense(3, "relu", kernel_initializer=init, bias_initializer=init),
        keras.layers.Dense(3, kernel_initializer=init, bias_initializer=init),
    ])


def _pattern_programs(steps, pattern):
    """Per pattern: logits as an affine map of x (A, c) and the rows G x ≤ h that fix the pattern."""
    a, c, rows, rhs, k = np.eye(steps[0].weight.shape[0]), np.zeros(steps[0].weight.shape[0]), [], [], 0
    for step in steps:
        a, c = a @ step.weight, c @ step.weight + step.bias
        if step.relu:
            on = np.array(pattern[k : k + len(c)], dtype=bool)
            k += len(c)
            sign = np.where(on, -1.0, 1.0)  # active: z ≥ 0, inactive: z ≤ 0
            rows.append((sign * a).T)
            rhs.append(-sign * c)
            a, c = a * on, c * on
    return a, c, np.vstack(rows), np.concatenate(rhs)


def _enumerated_margin(steps, x, label, target, epsilon):
    num_relus = sum(len(s.bias) for s in steps if s.relu)
    box = list(zip(np.clip(x - epsilon, 0, 1), np.clip(x + epsilon, 0, 1)))
    best = np.inf
    for pattern in itertools.product((0, 1), repeat=num_relus):
        a, c, g, h = _pattern_programs(steps, pattern)
        objective = a[:, label] - a[:, target]
        result = scipy.optimize.linprog(objective, A_ub=g, b_ub=h, bounds=box)
        if result.status == 0:
            best = min(best, result.fun + c[label] - c[target])
    return best


def _enumerated_distortion(steps, x, label, target, epsilon_max):
    num_relus, n = sum(len(s.bias) for s in steps if s.relu), len(x)
    best = np.inf
    for pattern in itertools.product((0, 1), repeat=num_relus):
        a, c, g, h = _pattern_programs(steps, pattern)
        reach = np.r_[a[:, label] - a[:, target], 0.0]  # logit[label] − logit[target] ≤ 0
        ball = np.block([[np.eye(n), -np.ones((n, 1))], [-np.eye(n), -np.ones((n, 1))]])
        a_ub = np.vstack([np.hstack([g, np.zeros((len(g), 1))]), reach, ball])
        b_ub = np.r_[h, c[target] - c[label], x, -x]
        result = scipy.optimize.linprog(np.r_[np.zeros(n), 1.0], A_ub=a_ub, b_ub=b_ub, bounds=[(0, 1)] * n + [(0, epsilon_max)])
        if result.status == 0:
            best = min(best, result.fun)
    return best


def test_minimal_margin_matches_enumeration(tiny_net):
    steps, rng = network_steps(tiny_net), np.random.default_rng(0)
    for _ in range(3):
        x = rng.uniform(size=4)
        label = int(np.argmax(tiny_net(x[None].astype("float32"))[0]))
        for target in set(range(3)) - {label}:
            result, _ = minimal_margin(steps, x, label, target, 0.3)
            assert result.fun == pytest.approx(_enumerated_margin(steps, x, label, target, 0.3), abs=1e-6)


def test_minimal_distortion_matches_enumeration(tiny_net):
    steps, rng = network_steps(tiny_net), np.random.default_rng(1)
    x = rng.uniform(size=4)
    label = int(np.argmax(tiny_net(x[None].astype("float32"))[0]))
    exact = {t: _enumerated_distortion(steps, x, label, t, 1.0) for t in set(range(3)) - {label}}
    assert any(np.isfinite(e) for e in exact.values())
    for target, distortion in exact.items():
        assert minimal_linf_distortion(steps, x, label, target, 1.0)[0] == pytest.approx(distortion, abs=1e-6)


def test_verify_agrees_with_enumeration_and_counterexamples_reverify(tiny_net):
    steps, rng = network_steps(tiny_net), np.random.default_rng(2)
    statuses = set()
    for _ in range(4):
        x = rng.uniform(size=4)
        label = int(np.argmax(tiny_net(x[None].astype("float32"))[0]))
        for epsilon in (0.02, 1.0):
            margin = min(_enumerated_margin(steps, x, label, t, epsilon) for t in set(range(3)) - {label})
            answer = verify(tiny_net, steps, x.astype("float32"), label, epsilon)
            statuses.add(answer.status)
            assert answer.status == ("robust" if margin > 0 else "counterexample")
            if answer.status == "counterexample":
                assert np.max(np.abs(answer.x_adv - x)) <= epsilon + 1e-6 and answer.x_adv.min() >= 0
                assert int(np.argmax(tiny_net(answer.x_adv[None])[0])) == answer.target != label
    assert statuses == {"robust", "counterexample"}


def test_verify_under_a_short_time_limit_is_never_wrong(tiny_net):
    # cut-short solves decide a target only by a positive dual bound or a re-checked counterexample
    steps, rng = network_steps(tiny_net), np.random.default_rng(5)
    for _ in range(4):
        x = rng.uniform(size=4)
        label = int(np.argmax(tiny_net(x[None].astype("float32"))[0]))
        margin = min(_enumerated_margin(steps, x, label, t, 0.3) for t in set(range(3)) - {label})
        answer = verify(tiny_net, steps, x.astype("float32"), label, 0.3, time_limit_s=1e-3)
        assert answer.status in ("timeout", "robust" if margin > 0 else "counterexample")
