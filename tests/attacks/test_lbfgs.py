"""The batched L-BFGS attack: contract, optimality against the exact QP, closed form, determinism."""

import keras
import numpy as np
import pytest

from robustbench_keras.attacks import LBFGSAttack, run_attack
from robustbench_keras.attacks.lbfgs import balanced_batch_size
from robustbench_keras.attacks.settings import AttackSettings
from robustbench_keras.attacks.qp_oracle import affine_parameters, exact_minimal_distortion
from robustbench_keras.attacks.solver import resolve_jit_compile
from robustbench_keras.attacks.targets import candidate_targets
from robustbench_keras.errors import SuiteError

FAST = dict(batch_size=16, jit_compile=False)


def test_records_satisfy_the_attack_contract(check_attack_contract, fc10, test_sample, fc10_records):
    x, _, targets = test_sample
    check_attack_contract(fc10, x, targets, fc10_records, success_margin=1e-3)
    assert fc10_records.success.all()


def test_fc10_distortion_is_within_two_percent_of_the_exact_optimum(fc10, test_sample, fc10_records):
    x, _, targets = test_sample
    w, b = affine_parameters(fc10, (28, 28))
    exact = exact_minimal_distortion(w, b, x, targets)
    ratio = fc10_records.distortion_l2 / exact.distance
    assert np.all(ratio >= 1.0 - 1e-4)  # nothing beats the certified optimum
    assert np.mean(ratio <= 1.02) >= 0.95, np.sort(ratio)[-5:]


def test_binary_linear_model_gives_margin_over_norm(test_sample):
    # logits (0, w.x + b): the nearest point of the other class is at |w.x + b| / ||w|| when the box is
    # inactive, plus success_margin / ||w|| because the attack demands a margin of success_margin.
    rng = np.random.default_rng(1)
    w = rng.normal(size=784).astype(np.float32)
    x = np.full((4, 28, 28), 0.5, np.float32) + rng.uniform(-0.05, 0.05, size=(4, 28, 28)).astype(np.float32)
    score = x.reshape(4, -1) @ w
    b = -np.median(score) + np.array(0.0, np.float32)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.layers[-1].set_weights([np.stack([np.zeros(784), w], axis=1).astype(np.float32),
                                  np.array([0.0, b], np.float32)])
    logit = score + b
    targets = np.where(logit > 0, 0, 1)
    records = LBFGSAttack(AttackSettings(**FAST)).run(model, x, targets)
    expected = (np.abs(logit) + 1e-3) / np.linalg.norm(w)
    assert np.all(np.abs(records.x_adv - 0.5) < 0.5)  # the box stayed inactive
    np.testing.assert_allclose(records.distortion_l2, expected, rtol=1e-3)


def test_kept_adversarial_is_the_closest_success_evaluated(check_attack_contract, mlp, test_sample):
    import tensorflow as tf

    x, y, targets = (a[:8] for a in test_sample)
    seen = []

    class Spy(keras.Model):
        def call(self, inputs):
            tf.py_function(lambda v: seen.append(v.numpy().copy()) or 0.0, [inputs], tf.float32)
            return mlp(inputs)

    spy = Spy()
    attack = LBFGSAttack(AttackSettings(batch_size=8, jit_compile=False, num_c_steps=3, max_evaluations=15, num_boundary_steps=0,
                                        num_projection_steps=0, num_ddn_steps=0, num_walk_steps=0,
                                        num_restart_steps=0))
    records = attack.run(spy, x, targets, y)
    check_attack_contract(mlp, x, targets, records, success_margin=1e-3)
    points = np.concatenate([s for s in seen if len(s) == 8]).reshape(-1, 8, 784)
    logits = np.asarray(mlp.predict(points.reshape(-1, 28, 28), verbose=0)).reshape(len(points), 8, 10)
    hit = np.argmax(logits, axis=-1) == targets[None, :]
    distance = np.where(hit, np.linalg.norm(points - x.reshape(1, 8, -1), axis=-1), np.inf).min(axis=0)
    assert np.all(records.success == np.isfinite(distance))
    assert np.all(records.distortion_l2[records.success] <= distance[records.success] * (1 + 1e-5))


def test_example_already_classified_as_target_needs_no_perturbation(mlp, test_sample):
    x, y, _ = test_sample
    predicted = np.argmax(mlp.predict(x[:4], verbose=0), axis=1)
    records = LBFGSAttack(AttackSettings(**FAST)).run(mlp, x[:4], predicted, y[:4])
    assert records.success.all()
    np.testing.assert_array_equal(records.distortion_l2, 0.0)
    np.testing.assert_array_equal(records.c, 0.0)
    np.testing.assert_array_equal(records.x_adv, x[:4])


def test_failures_stay_rows_with_nan_distortion(check_attack_contract, mlp, test_sample):
    x, y, targets = (a[:4] for a in test_sample)
    records = LBFGSAttack(AttackSettings(initial_c=1e6, num_c_steps=1, rescue_evaluations=0, **FAST)).run(mlp, x, targets, y)
    check_attack_contract(mlp, x, targets, records)
    assert not records.success.any()


def test_same_seed_gives_identical_records(mlp, test_sample):
    x, y, _ = test_sample
    attack = LBFGSAttack(AttackSettings(num_c_steps=3, **FAST))
    first, second = (run_attack(attack, mlp, x[:6], y[:6], target_policy="random", seed=3, progress=False) for _ in range(2))
    for name in ("target", "success", "c", "distortion_l2", "num_grad_evals", "x_adv"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert first.metadata == second.metadata and first.metadata["seed"] == 3


def test_closest_policy_keeps_the_smallest_target(check_attack_contract, mlp, test_sample):
    x, y, _ = test_sample
    attack = LBFGSAttack(AttackSettings(num_c_steps=4, num_shortlisted_targets=0, **FAST))
    closest = run_attack(attack, mlp, x[:3], y[:3], target_policy="closest", progress=False)
    check_attack_contract(mlp, x[:3], closest.target, closest, success_margin=1e-3)
    every = attack.run(mlp, np.repeat(x[:3], 9, axis=0), candidate_targets("closest", y[:3]).reshape(-1))
    np.testing.assert_allclose(closest.distortion_l2, np.nanmin(every.distortion_l2.reshape(3, 9), axis=1))
    assert np.all(closest.target != y[:3])


def test_the_shortlist_gives_the_whole_attack_to_the_targets_whose_c_search_came_closest(mlp, test_sample):
    x, y = test_sample[0][:4], test_sample[1][:4]
    attack = LBFGSAttack(AttackSettings(num_c_steps=3, num_shortlisted_targets=2, **FAST))
    every = candidate_targets("closest", y)
    screened = attack.run(mlp, np.repeat(x, 9, axis=0), every.reshape(-1), polish=False)
    distance = np.where(screened.success, screened.distortion_l2, np.inf).reshape(4, 9)  # failures (no rescue) last
    shortlisted = np.take_along_axis(every, np.argsort(distance, axis=1)[:, :2], axis=1)
    whole = attack.run(mlp, np.repeat(x, 2, axis=0), shortlisted.reshape(-1))
    closest = run_attack(attack, mlp, x, y, target_policy="closest", progress=False)
    np.testing.assert_array_equal(closest.distortion_l2, whole.distortion_l2.reshape(4, 2).min(axis=1))
    assert all(target in row for target, row in zip(closest.target, shortlisted))
    np.testing.assert_array_equal(closest.num_grad_evals, screened.num_grad_evals.reshape(4, 9).sum(axis=1)
                                  + whole.num_grad_evals.reshape(4, 2).sum(axis=1))
    # The c search alone runs no later stage: fewer evaluations than the whole attack on the same rows.
    assert screened.num_grad_evals.max() < whole.num_grad_evals.min()


def test_the_shortlist_reaches_the_exact_untargeted_optimum_on_fc10(fc10, test_sample):
    x, y = test_sample[0][:8], test_sample[1][:8]
    w, b = affine_parameters(fc10, (28, 28))
    every = candidate_targets("closest", y)
    exact = np.min([exact_minimal_distortion(w, b, x, every[:, j]).distance for j in range(9)], axis=0)
    records = run_attack(LBFGSAttack(AttackSettings(num_shortlisted_targets=2, **FAST)), fc10, x, y,
                         target_policy="closest", progress=False)
    assert records.success.all()
    ratio = records.distortion_l2 / exact
    assert np.all(ratio >= 1.0 - 1e-4) and np.all(ratio <= 1.01), ratio


def test_tfp_inner_solver_reaches_the_same_optimum(check_attack_contract, fc10, test_sample, fc10_records):
    x, y, targets = (a[:8] for a in test_sample)
    records = LBFGSAttack(AttackSettings(inner_solver="tfp", batch_size=8, jit_compile=False, tfp_max_iterations=30)).run(fc10, x, targets, y)
    check_attack_contract(fc10, x, targets, records, success_margin=1e-3)
    np.testing.assert_allclose(records.distortion_l2, fc10_records.distortion_l2[:8], rtol=0.03)


@pytest.mark.parametrize("name, value, message", [
    ("max_evaluations", 0, "max_evaluations: expected an integer >= 1, got 0"),
    ("num_c_steps", "ten", "num_c_steps: expected an integer >= 1, got 'ten'"),
    ("initial_c", -1.0, "initial_c: expected a finite number > 0, got -1.0"),
    ("loss", "hinge", "loss: expected one of margin, cross_entropy, got 'hinge'"),
    ("jit_compile", "yes", "jit_compile: expected true, false or auto, got 'yes'"),
])
def test_bad_settings_raise_suite_error_naming_the_field(name, value, message):
    with pytest.raises(SuiteError, match=f"^{message}$"):
        LBFGSAttack(AttackSettings(**{name: value}))


def test_auto_jit_compile_skips_xla_for_convolutions_only():
    dense = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
    conv = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                             keras.layers.Dense(10)])
    pooled = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                               keras.layers.Dense(10)])
    inputs = keras.Input((28, 28, 1))
    nested = keras.Model(inputs, keras.layers.Dense(10)(conv(inputs)))
    resolved = {name: resolve_jit_compile(model, "auto")
                for name, model in (("dense", dense), ("conv", conv), ("pooled", pooled), ("nested", nested))}
    assert resolved == {"dense": True, "conv": False, "pooled": False, "nested": False}
    assert resolve_jit_compile(conv, True) is True and resolve_jit_compile(dense, False) is False
    assert LBFGSAttack(AttackSettings(jit_compile=True, batch_size=4)).solver(conv, (28, 28, 1)).jit_compile is True
    assert LBFGSAttack(AttackSettings(batch_size=4)).solver(conv, (28, 28, 1)).jit_compile is False


def test_settings_write_out_the_objective():
    settings = LBFGSAttack(AttackSettings(loss="cross_entropy")).settings.to_json()
    assert settings["objective"].startswith("c*||r||_2^2 + cross_entropy")
    assert LBFGSAttack().settings.to_json()["objective"].startswith("c*||r||_2^2 + max(0, 0.1 - (z_t(x+r)")


def test_fc10_mean_ratio_to_the_exact_optimum_and_its_worst_example(fc10, test_sample, fc10_records):
    # The certificate the suites report: projected box steps and restarts of stalled rows keep every
    # example near the convex optimum (a kinked clip objective once left single examples 20-80% above).
    x, _, targets = test_sample
    w, b = affine_parameters(fc10, (28, 28))
    ratio = fc10_records.distortion_l2 / exact_minimal_distortion(w, b, x, targets).distance
    assert np.mean(ratio) <= 1.003 and ratio.max() <= 1.03, np.sort(ratio)[-4:]


def test_rows_the_margin_rescue_leaves_go_to_a_cross_entropy_rescue(monkeypatch):
    # The rescue's c searches in order, each on the rows still failing; their columns replace those rows'.
    calls = []

    def fake_run_batches(self, solver, flat, targets, bar=None, fresh_memory=False):
        calls.append((self.settings.loss, self.settings.max_evaluations, self.settings.batch_size, flat[:, 0].tolist(),
                      fresh_memory))
        success = flat[:, 0] == 2.0 if self.settings.loss == "margin" else np.ones(len(flat), bool)
        return {"success": success, "c": np.full(len(flat), 0.5), "x_adv": flat + 1, "num_grad_evals": np.full(len(flat), 7),
                "num_forward_evals": np.ones(len(flat), int), "time_s": np.zeros(len(flat))}

    monkeypatch.setattr(LBFGSAttack, "_run_batches", fake_run_batches)
    monkeypatch.setattr(LBFGSAttack, "solver", lambda self, model, shape: None)
    flat = np.arange(5, dtype=np.float32)[:, None].repeat(3, axis=1)
    columns = {"success": np.array([True, False, False, True, False]), "c": np.zeros(5), "x_adv": flat.copy(),
               "num_grad_evals": np.full(5, 100), "num_forward_evals": np.ones(5, int), "time_s": np.zeros(5)}
    result = LBFGSAttack(AttackSettings(rescue_evaluations=30))._rescue(None, (3,), flat, np.zeros(5, int), columns)
    # Both at the rescue's small batch (8 rows, not the attack's 64): only the failing rows are padded.
    assert calls == [("margin", 30, 8, [1.0, 2.0, 4.0], True), ("cross_entropy", 30, 8, [1.0, 4.0], True)]
    assert result["success"].all()
    np.testing.assert_array_equal(result["num_grad_evals"], [100, 114, 107, 100, 114])
    np.testing.assert_array_equal(result["x_adv"][[1, 2, 4]], flat[[1, 2, 4]] + 1)
    assert not LBFGSAttack(AttackSettings(rescue_evaluations=0))._rescue(None, (3,), flat, np.zeros(5, int), {
        "success": np.zeros(5, bool)})["success"].any()


def test_rows_get_the_same_search_in_a_small_batch_as_in_a_full_one(mlp, test_sample):
    # What lets the rescue run at 8 rows instead of the attack's batch: each row's c search, solves and
    # polishing stages ignore the other rows (and the padding copies), so only float rounding may differ.
    x, _, targets = test_sample
    flat, targets = x[:3].reshape(3, -1), targets[:3]
    short = dict(jit_compile=False, num_c_steps=3, max_evaluations=15, num_projection_steps=2, num_ddn_steps=5,
                 num_walk_steps=5)
    columns = []
    for batch_size in (1, 16):  # one row per batch, and the rows among 13 padding copies
        attack = LBFGSAttack(AttackSettings(batch_size=batch_size, **short))
        columns.append(attack._run_batches(attack.solver(mlp, x.shape[1:]), flat, targets, fresh_memory=True))
    small, full = columns
    np.testing.assert_array_equal(small["success"], full["success"])
    assert small["success"].all()
    np.testing.assert_allclose(small["c"], full["c"])
    np.testing.assert_allclose(small["x_adv"], full["x_adv"], atol=1e-4)


@pytest.mark.parametrize("num_rows, batch_size, expected", [
    (100, 64, 50), (900, 64, 60), (1000, 64, 63), (64, 64, 64), (65, 64, 33), (3, 8, 3), (1, 64, 1), (1, 1, 1)])
def test_balanced_batches_are_as_few_as_the_batch_size_allows_and_even(num_rows, batch_size, expected):
    size = balanced_batch_size(num_rows, batch_size)
    assert size == expected
    # Brute force: as few batches as any size up to batch_size gives, and no smaller size gets by with as few.
    num_batches = lambda size: -(-num_rows // size)
    fewest = min(num_batches(b) for b in range(1, batch_size + 1))
    assert size <= batch_size and num_batches(size) == fewest
    assert size == 1 or num_batches(size - 1) > fewest


def test_a_single_example_is_attacked(mlp, test_sample):
    # One row alone runs as a batch of 1: every loop of the attack keeps that static batch dimension.
    x, _, targets = test_sample
    short = dict(jit_compile=False, num_c_steps=2, max_evaluations=10, num_projection_steps=1, num_ddn_steps=3,
                 num_walk_steps=3, num_restart_steps=2, num_restart_walk_steps=2)
    records = LBFGSAttack(AttackSettings(**short)).run(mlp, x[:1], targets[:1])
    assert records.success.all() and 0 < np.linalg.norm(records.x_adv[0] - x[0]) < np.inf
