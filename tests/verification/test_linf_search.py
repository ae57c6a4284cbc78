"""The minimal L∞ distortion search against exhaustive enumeration of activation patterns (`conftest.py`)."""

import numpy as np
import pytest

from robustbench_keras.verification.bounds import network_steps
from robustbench_keras.verification.linf_search import LinfSearch, crown_lower_bound


@pytest.fixture(scope="module")
def cases(tiny_net, enumeration):
    """(x float32, label, target, exact minimal L∞) for random inputs and every target reachable in [0, 1]⁴."""
    steps, rng, cases = network_steps(tiny_net), np.random.default_rng(3), []
    while len(cases) < 6:
        x = rng.uniform(size=4).astype(np.float32)
        label = int(np.argmax(tiny_net(x[None])[0]))
        for target in sorted(set(range(3)) - {label}):
            exact = enumeration.minimal_distortion(steps, x.astype(np.float64), label, target, 1.0)
            if np.isfinite(exact):
                cases.append((x, label, target, exact))
    return cases


def _margin(net, point, label, target):
    logits = np.asarray(net(point[None])[0], np.float64)
    return logits[label] - logits[target]


def test_the_bracket_closes_on_the_enumerated_minimum(tiny_net, cases):
    search = LinfSearch(tiny_net, network_steps(tiny_net), time_limit_s=30, relative_gap=1e-3)
    for x, label, target, exact in cases:
        result = search.bracket(x, label, target, attack_linf=1.0)
        assert result.exact
        assert result.lower <= exact + 1e-6 and result.upper == pytest.approx(exact, rel=2e-3, abs=1e-5)
        assert _margin(tiny_net, result.x_upper, label, target) <= 0  # the upper point reaches the target
        assert np.abs(result.x_upper.astype(np.float64) - x).max() == pytest.approx(result.upper, abs=1e-12)
        assert result.x_upper.min() >= 0 and result.x_upper.max() <= 1


def test_crown_lower_bound_is_below_the_minimum_and_informative(tiny_net, cases):
    steps = network_steps(tiny_net)
    lowers, exacts = [], []
    for x, label, target, exact in cases:
        lowers.append(crown_lower_bound(steps, x, label, target, upper=1.0))
        exacts.append(exact)
    assert np.all(np.array(lowers) <= np.array(exacts) + 1e-9)
    assert np.all(np.array(lowers) > 0)


def test_a_cut_short_search_still_brackets_the_minimum(tiny_net, cases):
    # a solve stopped at once: the bounds come from CROWN, PGD and whatever HiGHS proved, never wrong
    search = LinfSearch(tiny_net, network_steps(tiny_net), time_limit_s=1e-3, relative_gap=1e-6)
    for x, label, target, exact in cases:
        result = search.bracket(x, label, target, attack_linf=1.0)
        assert result.lower <= exact + 1e-6 <= result.upper + 2e-6
        if result.x_upper is not None:
            assert _margin(tiny_net, result.x_upper, label, target) <= 0


def test_an_example_already_past_the_target_has_distortion_zero(tiny_net):
    x = np.random.default_rng(6).uniform(size=4).astype(np.float32)
    logits = np.asarray(tiny_net(x[None])[0])
    label, target = int(np.argmin(logits)), int(np.argmax(logits))
    result = LinfSearch(tiny_net, network_steps(tiny_net), 30, 1e-3).bracket(x, label, target, attack_linf=0.5)
    assert (result.lower, result.upper, result.exact) == (0.0, 0.0, True)
