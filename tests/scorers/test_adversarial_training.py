"""The adversarial_training scorer (Section 4.2): paired distortion change, transfer both ways, the sidecar's
training trace, its table beside the paper's ~1.6 / ~1.3 / < 1.2 and the per-epoch figure."""

import json
import types

import keras
import numpy as np
import pytest

from robustbench_keras.attacks import AttackRecords
from robustbench_keras.errors import SuiteError
from robustbench_keras.leaderboard import render_markdown
from robustbench_keras.plots.training_curves import plot_training_curves
from robustbench_keras.scorers import adversarial_training
from robustbench_keras.scorers.context import ScoringContext
from robustbench_keras.suite import load_suite


def _records(x_adv, labels, targets, distortions):
    n = len(labels)
    distortions = np.asarray(distortions, np.float64)
    return AttackRecords(index=np.arange(n), label=labels, target=targets, success=np.isfinite(distortions),
                         c=np.ones(n), distortion_rms=distortions, distortion_l2=distortions,
                         distortion_linf=distortions, num_grad_evals=np.ones(n), num_forward_evals=np.ones(n),
                         time_s=np.zeros(n), x_adv=x_adv)


def _linear_model(kernel, bias=(0, 0)):
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="logits")(inputs))
    model.get_layer("logits").set_weights([np.asarray(kernel, np.float32), np.asarray(bias, np.float32)])
    return model


def test_paired_change_is_the_mean_over_examples_both_attacks_solved():
    targets = np.array([1, 0, 1, 1])
    base = _records(np.zeros((4, 2)), np.zeros(4), targets, [0.1, 0.2, np.nan, 0.4])
    trained = _records(np.zeros((4, 2)), np.zeros(4), targets, [0.3, np.nan, 0.5, 0.5])
    change = adversarial_training.paired_change(base, trained, num_resamples=200, seed=0)
    assert change["n"] == 2 and change["mean"] == pytest.approx(((0.3 - 0.1) + (0.5 - 0.4)) / 2)
    assert change["ci95"][0] == pytest.approx(0.1) and change["ci95"][1] == pytest.approx(0.2)  # the two values
    assert change["ratio_of_means"] == pytest.approx(0.8 / 0.5)
    with pytest.raises(ValueError, match="same targets"):
        adversarial_training.paired_change(base, _records(np.zeros((4, 2)), np.zeros(4), targets[::-1], [0.1] * 4),
                                           200, 0)


def test_run_transfers_both_ways_and_reads_the_training_trace_from_the_sidecar(tmp_path):
    # Two linear models on 2-D points: "base" predicts class 0 iff x0 > x1, "other" iff x0 > 0.5.
    base_model = _linear_model([[1, -1], [-1, 1]])
    other_model = _linear_model([[1, 0], [0, 0]], bias=(-0.5, 0))
    x = np.array([[0.9, 0.1], [0.8, 0.3], [0.6, 0.1], [0.7, 0.2]], np.float32)
    y = np.zeros(4, np.int64)
    targets = np.ones(4, np.int64)
    # base's adversarials: points with x1 > x0; the other model still says 0 for the first two (x0 > 0.5).
    base_records = _records(np.array([[0.6, 0.7], [0.55, 0.6], [0.3, 0.4], [0.2, 0.3]], np.float32), y, targets,
                            [0.1, 0.1, 0.2, 0.2])
    other_records = _records(np.array([[0.2, 0.3], [0.3, 0.4], [0.1, 0.2], [0.7, 0.2]], np.float32), y, targets,
                             [0.2, 0.15, 0.1, np.nan])
    sidecars = {model_id: tmp_path / f"{model_id}.keras" for model_id in ("base", "other")}
    sidecars["other"].with_suffix(".json").write_text(json.dumps({
        "train_time_s": 12.5, "attack_time_s": 7.25,
        "history": [{"epoch": 1, "layer": 2, "test_error": 0.05, "pool_distortion_rms": 0.3}]}))
    suite = types.SimpleNamespace(seed=0, checkpoint_path=lambda model_id, dataset: sidecars[model_id])
    dataset = types.SimpleNamespace(split=lambda name: (None, np.zeros(100 if name == "train" else 50)))
    entries = {model_id: types.SimpleNamespace(id=model_id, source="zoo", sections={"min_distortion": {"test": {}}},
                                               clean_errors={"train": 0.01, "test": 0.1})
               for model_id in ("base", "other")}
    context = ScoringContext(suite, dataset, {"base": base_model, "other": other_model}, entries, tmp_path,
                             progress=False, scored=("base", "other"), samples={"test": (x, y)},
                             records={"base": base_records, "other": other_records})
    adversarial_training.run(adversarial_training.Settings(baseline="base", num_resamples=200), context)
    section = entries["other"].sections["adversarial_training"]
    # The other model errs on base's adversarials 3 and 4 only (x0 <= 0.5); base errs on all three of the other's.
    assert section["transfer"]["from_baseline"]["rate"] == pytest.approx(0.5)
    assert section["transfer"]["from_baseline"]["n"] == 4
    assert section["transfer"]["to_baseline"] == {"rate": 1.0, "n": 3, "ci95": [1.0, 1.0]}
    assert section["distortion_change"]["n"] == 3
    assert section["distortion_change"]["mean"] == pytest.approx((0.1 + 0.05 - 0.1) / 3)
    assert section["errors"]["test"]["n"] == 50 and section["errors"]["train"]["n"] == 100
    assert section["training"]["attack_time_s"] == 7.25 and section["training"]["history"][0]["layer"] == 2
    assert entries["base"].sections["adversarial_training"]["training"] is None  # no sidecar
    assert entries["base"].sections["adversarial_training"]["distortion_change"]["mean"] == 0


def _section(test_error, change_mean, history=None):
    rate = {"rate": test_error, "n": 10000, "ci95": [test_error - 0.002, test_error + 0.002]}
    return {"baseline": "fc100_100_10", "split": "train",
            "errors": {"train": {"rate": 0.001, "n": 60000, "ci95": [0.0008, 0.0012]}, "test": rate},
            "distortion_change": {"n": 19, "mean": change_mean, "ci95": [change_mean - 0.001, change_mean + 0.001],
                                  "ratio_of_means": 1.1},
            "transfer": {"from_baseline": {"rate": 0.25, "n": 19, "ci95": [0.1, 0.45]},
                         "to_baseline": {"rate": 0.5, "n": 19, "ci95": [0.3, 0.7]}},
            "training": {"train_time_s": 95.0, "attack_time_s": 40.0, "history": history}}


def test_table_shows_the_papers_section_4_2_numbers_beside_ours(document):
    document["entries"][1]["adversarial_training"] = _section(0.02, 0.0)
    adv = dict(document["entries"][1], id="fc100_100_10_adv_layer", paper_name="FC100-100-10 (adversarial per layer)",
               checkpoint_sha256="a" * 64)
    adv["adversarial_training"] = _section(0.0125, 0.0061)
    document["entries"].append(adv)
    document["scorers"] = {"min_distortion": {}, "adversarial_training": {"baseline": "fc100_100_10"}}
    markdown = render_markdown(document)
    section = markdown.split("## Section 4.2")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    assert rows[0].startswith("| FC100-100-10 | 1.6 | 1.6 \\| 2 \\| +0.4 | [1.80, 2.20] | 0.10 [0.08, 0.12]")
    assert rows[1].startswith("| FC100-100-10 (adversarial per layer) | < 1.2 | 1.2 \\| 1.25 \\| +0.05 |")
    assert "0.0552; +0.0061 [+0.0051, +0.0071] (n=19)" in rows[1] and "| 25.00 [10.00, 45.00] (n=19) |" in rows[1]
    assert rows[1].endswith("| 95 | 40 |") and len(rows) == 2
    document["data_fingerprint"]["dataset"] = "fashion_mnist"
    assert "| FC100-100-10 | — | 2 |" in render_markdown(document)


def test_training_curves_figure_draws_every_recipe(tmp_path):
    histories = {"baseline": [{"epoch": e, "test_error": 0.05 / e} for e in range(1, 4)],
                 "per layer": [{"epoch": e, "layer": 1 + e % 2, "test_error": 0.06 / e, "pool_distortion_rms": 0.2}
                               for e in range(1, 4)]}
    path = plot_training_curves(tmp_path / "curves.png", histories)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    with pytest.raises(ValueError, match="no|at least one"):
        plot_training_curves(tmp_path / "empty.png", {"baseline": []})


def test_suite_checks_the_baseline_and_min_distortion(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text("name: s\nmodels: [fc100_100_10]\nscorers:\n  adversarial_training: {}\n")
    with pytest.raises(SuiteError, match="adversarial_training: needs scorers.min_distortion"):
        load_suite(path)
    path.write_text("name: s\nmodels: [fc100_100_10_adv_layer]\nscorers:\n  min_distortion: {}\n"
                    "  adversarial_training: {}\n")
    with pytest.raises(SuiteError, match="baseline: 'fc100_100_10' is not a model of the suite"):
        load_suite(path)
    for name in ("suites/adversarial_training.yaml", "suites/adversarial_training_smoke.yaml"):
        assert list(load_suite(name).scorers) == ["min_distortion", "transfer", "adversarial_training"]
