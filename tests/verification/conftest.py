"""A tiny ReLU net and exhaustive references over its activation patterns (one scipy LP per pattern)."""

import itertools
import types

import keras
import numpy as np
import pytest
import scipy.optimize


@pytest.fixture(scope="session")
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


def _patterns(steps):
    return itertools.product((0, 1), repeat=sum(len(s.bias) for s in steps if s.relu))


def _minimal_margin(steps, x, label, target, epsilon):
    """min logit[label] − logit[target] over the clipped L∞ ball: the minimum over patterns of each pattern's LP."""
    box = list(zip(np.clip(x - epsilon, 0, 1), np.clip(x + epsilon, 0, 1)))
    best = np.inf
    for pattern in _patterns(steps):
        a, c, g, h = _pattern_programs(steps, pattern)
        result = scipy.optimize.linprog(a[:, label] - a[:, target], A_ub=g, b_ub=h, bounds=box)
        if result.status == 0:
            best = min(best, result.fun + c[label] - c[target])
    return best


def _minimal_distortion(steps, x, label, target, epsilon_max):
    """min ε ≤ epsilon_max with a point of the clipped ball where logit[target] ≥ logit[label] (inf: none)."""
    n, best = len(x), np.inf
    for pattern in _patterns(steps):
        a, c, g, h = _pattern_programs(steps, pattern)
        reach = np.r_[a[:, label] - a[:, target], 0.0]  # logit[label] − logit[target] ≤ 0
        ball = np.block([[np.eye(n), -np.ones((n, 1))], [-np.eye(n), -np.ones((n, 1))]])
        a_ub = np.vstack([np.hstack([g, np.zeros((len(g), 1))]), reach, ball])
        b_ub = np.r_[h, c[target] - c[label], x, -x]
        result = scipy.optimize.linprog(np.r_[np.zeros(n), 1.0], A_ub=a_ub, b_ub=b_ub, bounds=[(0, 1)] * n + [(0, epsilon_max)])
        if result.status == 0:
            best = min(best, result.fun)
    return best


@pytest.fixture(scope="session")
def enumeration():
    """`minimal_margin(steps, x, label, target, epsilon)` and `minimal_distortion(steps, x, label, target, epsilon_max)`
    by enumerating every activation pattern."""
    return types.SimpleNamespace(minimal_margin=_minimal_margin, minimal_distortion=_minimal_distortion)
