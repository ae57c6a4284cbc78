"""Target policies and their user errors."""

import numpy as np
import pytest

from robustbench_keras.attacks.targets import candidate_targets, choose_targets
from robustbench_keras.errors import SuiteError

LABELS = np.array([0, 3, 9, 5])


def test_random_is_seeded_and_never_the_label():
    first = candidate_targets("random", np.repeat(LABELS, 50), seed=1)
    assert np.all(first[:, 0] != np.repeat(LABELS, 50))
    np.testing.assert_array_equal(first, candidate_targets("random", np.repeat(LABELS, 50), seed=1))
    assert not np.array_equal(first, candidate_targets("random", np.repeat(LABELS, 50), seed=2))


def test_next_least_likely_and_closest():
    np.testing.assert_array_equal(candidate_targets("next", LABELS)[:, 0], [1, 4, 0, 6])
    logits = np.tile(np.arange(10.0), (4, 1))
    np.testing.assert_array_equal(candidate_targets("least_likely", LABELS, logits=logits)[:, 0], [1, 0, 0, 0])
    closest = candidate_targets("closest", LABELS)
    assert closest.shape == (4, 9)
    for row, label in zip(closest, LABELS):
        assert sorted(row) == [j for j in range(10) if j != label]


def test_choose_targets_uses_the_model(mlp, test_sample):
    x, y, _ = test_sample
    logits = mlp.predict(x[:4], verbose=0)
    chosen = choose_targets("least_likely", mlp, x[:4], y[:4])
    np.testing.assert_array_equal(chosen, np.argmin(np.where(np.arange(10) == y[:4, None], np.inf, logits), axis=1))


@pytest.mark.parametrize("policy, targets, message", [
    ("given", np.array([1, 3, 0, 6]), "targets: each target must differ from the example's label, got 1 equal"),
    ("given", None, "target policy 'given': targets are passed exactly when the policy is 'given'"),
    ("next", np.array([1, 4, 0, 6]), "target policy 'next': targets are passed exactly when"),
    ("nearest", None, "target policy: expected one of random, next, least_likely, closest, given, got 'nearest'"),
])
def test_user_errors(policy, targets, message):
    with pytest.raises(SuiteError, match=message.replace("(", r"\(")):
        candidate_targets(policy, LABELS, targets=targets)
