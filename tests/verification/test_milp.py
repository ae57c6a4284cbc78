"""The MIPVerify program against exhaustive enumeration of activation patterns (`conftest.py`)."""

import itertools

import numpy as np
import pytest
import scipy.sparse

from robustbench_keras.verification.bounds import Step, network_steps, relu_counts
from robustbench_keras.verification.linear_bounds import linear_bounds
from robustbench_keras.verification.milp import Program, margin_objective, minimal_margin, verify


def test_minimal_margin_matches_enumeration(tiny_net, enumeration):
    steps, rng = network_steps(tiny_net), np.random.default_rng(0)
    for _ in range(3):
        x = rng.uniform(size=4)
        label = int(np.argmax(tiny_net(x[None].astype("float32"))[0]))
        for target in set(range(3)) - {label}:
            result, _ = minimal_margin(steps, x, label, target, 0.3)
            assert result.fun == pytest.approx(enumeration.minimal_margin(steps, x, label, target, 0.3), abs=1e-6)


def test_verify_agrees_with_enumeration_and_counterexamples_reverify(tiny_net, enumeration):
    steps, rng = network_steps(tiny_net), np.random.default_rng(2)
    statuses = set()
    for _ in range(4):
        x = rng.uniform(size=4)
        label = int(np.argmax(tiny_net(x[None].astype("float32"))[0]))
        for epsilon in (0.02, 1.0):
            margin = min(enumeration.minimal_margin(steps, x, label, t, epsilon) for t in set(range(3)) - {label})
            answer = verify(tiny_net, steps, x.astype("float32"), label, epsilon)
            statuses.add(answer.status)
            assert answer.status == ("robust" if margin > 0 else "counterexample")
            if answer.status == "counterexample":
                assert np.max(np.abs(answer.x_adv - x)) <= epsilon + 1e-6 and answer.x_adv.min() >= 0
                assert int(np.argmax(tiny_net(answer.x_adv[None])[0])) == answer.target != label
    assert statuses == {"robust", "counterexample"}


def test_verify_under_a_short_time_limit_is_never_wrong(tiny_net, enumeration):
    # cut-short solves decide a target only by a positive dual bound or a re-checked counterexample
    steps, rng = network_steps(tiny_net), np.random.default_rng(5)
    for _ in range(4):
        x = rng.uniform(size=4)
        label = int(np.argmax(tiny_net(x[None].astype("float32"))[0]))
        margin = min(enumeration.minimal_margin(steps, x, label, t, 0.3) for t in set(range(3)) - {label})
        answer = verify(tiny_net, steps, x.astype("float32"), label, 0.3, time_limit_s=1e-3)
        assert answer.status in ("timeout", "robust" if margin > 0 else "counterexample")


def test_each_activation_pattern_gives_its_linear_program(tiny_net, enumeration):
    # the minimum over patterns of the pattern-fixed program is the exact minimal margin
    steps, rng = network_steps(tiny_net), np.random.default_rng(7)
    x = rng.uniform(size=4)
    label = int(np.argmax(tiny_net(x[None].astype("float32"))[0]))
    target = (label + 1) % 3
    result, program = minimal_margin(steps, x, label, target, 0.3)
    objective, num = margin_objective(program, label, target), sum(len(b) for b in program.binaries)
    fixed = [program.solve(objective, pattern=np.array(p)) for p in itertools.product((0, 1), repeat=num)]
    assert min(r.fun for r in fixed if r.status == 0) == pytest.approx(
        enumeration.minimal_margin(steps, x, label, target, 0.3), abs=1e-6)
    assert all(np.isin(r.x[np.concatenate(program.binaries)], (0, 1)).all() for r in fixed if r.status == 0)


def test_the_program_models_only_the_units_its_bounds_leave_open(tiny_net, enumeration):
    # stable-inactive units get no variable, stable-active ones one, unstable ones z, a and a binary;
    # the minimal margin still matches enumeration, so nothing the bounds leave open was dropped
    steps, x = network_steps(tiny_net), np.random.default_rng(7).uniform(size=4)
    label = int(np.argmax(tiny_net(x[None].astype("float32"))[0]))
    counts = relu_counts(steps, linear_bounds(steps, x[None], 0.2))
    inactive, active, unstable = ([int(c[key][0]) for c in counts.values()]
                                  for key in ("num_inactive", "num_active", "num_unstable"))
    assert min(sum(inactive), sum(active), sum(unstable)) > 0  # all three kinds occur
    for target in set(range(3)) - {label}:
        result, program = minimal_margin(steps, x, label, target, 0.2)
        assert program.num_binaries == sum(len(b) for b in program.binaries) == sum(unstable)
        assert len(program.var_lower) == 4 + sum(active) + 3 * sum(unstable) + 3
        assert result.fun == pytest.approx(enumeration.minimal_margin(steps, x, label, target, 0.2), abs=1e-6)


def test_weights_too_small_for_highs_widen_their_rows_instead():
    # HiGHS drops matrix entries below 1e-9 unseen; the program drops them itself and widens each row by
    # the most they could add, so the exact pre-activations of every input in the box stay feasible
    rng = np.random.default_rng(3)
    weight = rng.normal(size=(6, 3)) * np.where(rng.uniform(size=(6, 3)) < 0.5, 1e-10, 1.0)
    step = Step("dense", weight, rng.normal(size=3), relu=False)
    lower_x, upper_x = -1e6 * np.ones(6), 1e6 * np.ones(6)
    x = rng.uniform(lower_x, upper_x, size=(100, 6))
    z = x @ weight + step.bias
    program = Program([step], [(z.min(axis=0) - 1, z.max(axis=0) + 1)], lower_x, upper_x)
    vals = np.concatenate(program.vals)
    assert np.abs(vals).min() >= 1e-9
    matrix = scipy.sparse.coo_matrix((vals, (np.concatenate(program.rows), np.concatenate(program.cols)))).tocsr()
    rows = matrix @ np.hstack([x, z]).T  # one column per sampled input
    assert (rows.min(axis=1) >= np.array(program.row_lower) - 1e-6).all()
    assert (rows.max(axis=1) <= np.array(program.row_upper) + 1e-6).all()
    assert (np.array(program.row_upper) - np.array(program.row_lower)).max() > 1e-5  # the widening is needed
