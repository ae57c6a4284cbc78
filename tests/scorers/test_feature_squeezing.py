"""The feature_squeezing scorer: held-out legitimate sets, settings, the adaptive attack end to end on a tiny
model (its successes verified by the detector outside the wrapper) and its table."""

import numpy as np
import pytest
import scipy.stats

from robustbench_keras.attacks import LBFGSAttack, run_attack
from robustbench_keras.attacks.settings import AttackSettings
from robustbench_keras.defenses import detector
from robustbench_keras.errors import SuiteError
from robustbench_keras.scorers import feature_squeezing, squeezing_adaptive
from robustbench_keras.suite import load_suite


def test_legitimate_sets_are_disjoint_seeded_and_leave_out_attacked_images():
    x = np.random.default_rng(0).random((50, 4, 4)).astype(np.float32)
    attacked = x[[3, 7, 11]]
    calibration, validation = feature_squeezing.legitimate_sets(x, attacked, 20, 25, seed=1)
    keys = lambda images: {image.tobytes() for image in images}
    assert len(calibration) == 20 and len(validation) == 25
    assert not keys(calibration) & keys(validation)
    assert not (keys(calibration) | keys(validation)) & keys(attacked)
    again, _ = feature_squeezing.legitimate_sets(x, attacked, 20, 25, seed=1)
    np.testing.assert_array_equal(again, calibration)
    with pytest.raises(ValueError, match="47 available, 48 asked"):
        feature_squeezing.legitimate_sets(x, attacked, 24, 24, seed=1)


@pytest.mark.parametrize("field, value", [("false_positive_rate", 0.0), ("bits", -1), ("legitimate_split", "p3"),
                                          ("adaptive_scale", 0.0)])
def test_settings_refuse_out_of_range_values(field, value):
    with pytest.raises(ValueError, match=field):
        feature_squeezing.Settings(**{field: value})


def test_suite_needs_min_distortion(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text("name: s\ndataset: mnist\nmodels: [fc10_wd1e-4]\nscorers:\n  feature_squeezing: {}\n")
    with pytest.raises(SuiteError, match="feature_squeezing: needs scorers.min_distortion"):
        load_suite(path)


def test_defenses_suites_load():
    for name in ("suites/defenses.yaml", "suites/defenses_smoke.yaml"):
        suite = load_suite(name)
        assert list(suite.scorers) == ["min_distortion", "transfer", "feature_squeezing"]


def test_adaptive_successes_are_undetected_and_classified_as_the_target(linear_model):
    settings = feature_squeezing.Settings()
    squeezers = settings.squeezers()
    rng = np.random.default_rng(0)
    x = rng.random((6, 6, 6)).astype(np.float32)
    y = np.argmax(linear_model.predict(x, verbose=0), axis=1)
    threshold = float(np.quantile(detector.scores(linear_model, rng.random((40, 6, 6)), squeezers), 0.95))
    targets = (y + 1) % 4
    # A short c search and solve (no projection stage): 3x less work, every example still won.
    attack = LBFGSAttack(AttackSettings(batch_size=8, num_c_steps=2, max_evaluations=20, rescue_evaluations=20,
                                        num_boundary_steps=8, num_projection_steps=0, num_restart_steps=0,
                                        jit_compile=False))
    wrapped = detector.DetectedModel(linear_model, squeezers, threshold, settings.adaptive_scale)
    adaptive = run_attack(attack, wrapped, x, y, target_policy="given", targets=targets, progress=False)
    # The records stand in for the plain attack's too: the ratio of each success to itself is 1.
    summary = squeezing_adaptive.summarize(linear_model, squeezers, threshold, adaptive, adaptive, x)
    assert summary["success_rate"] > 0
    assert summary["verified_success_rate"] == summary["success_rate"]
    won = adaptive.success
    assert np.all(detector.scores(linear_model, adaptive.x_adv[won], squeezers) <= threshold)
    assert summary["plain_success_rate"] == summary["success_rate"]
    assert summary["distortion_ratio_median"] in (None, pytest.approx(1.0))


@pytest.mark.parametrize("flagged, total", [(300, 300), (0, 40), (58, 1000), (1, 3)])
def test_rates_carry_wilson_intervals_not_degenerate_at_all_flagged(flagged, total):
    flags = np.arange(total) < flagged
    rate = feature_squeezing.rate_with_ci(np.random.default_rng(0).permutation(flags))
    expected = scipy.stats.binomtest(flagged, total).proportion_ci(0.95, method="wilson")
    assert rate["value"] == flagged / total and rate["num_examples"] == total
    assert rate["ci"] == pytest.approx([expected.low, expected.high], abs=1e-12)
    assert rate["ci"][0] < rate["value"] or rate["ci"][1] > rate["value"]  # never [100, 100] or [0, 0]
    assert feature_squeezing.rate_with_ci(np.zeros(0, bool)) == {"value": None, "ci": None, "num_examples": 0}


def test_table_row_shows_paper_detection_beside_ours():
    rate = {"value": 0.5, "ci": [0.4, 0.6], "num_examples": 10}
    section = {"squeezers": ["bit_depth_1", "median_2x2"], "threshold": 0.25, "false_positive_rate": rate,
               "detection_rate": rate, "roc_auc": 0.75, "transfer_detection_rates": {"b": rate},
               "adaptive": {"success_rate": 0.9, "distortion_rms_mean": 0.08}}
    document = {"entries": [{"id": "a", "paper_name": None, "feature_squeezing": section}, {"id": "b", "paper_name": None}]}
    (table,) = feature_squeezing.tables(document, None, feature_squeezing.Settings())
    (row,) = table.rows
    assert row[0] == "a" and row[2] == "50.0 [40.0, 60.0]" and row[3].paper == 0.982 and row[3].ours == 0.5
    assert row[5] == "0.750" and row[6] == "50" and row[9] == "90" and row[10] == "0.080"
