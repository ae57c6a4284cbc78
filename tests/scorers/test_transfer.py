"""Transfer scorer (Tables 2 and 4) on hand-built models whose answers can be checked by hand."""

import keras
import numpy as np
import pytest
import scipy.stats

from robustbench_keras.attacks import AttackRecords
from robustbench_keras.scorers import transfer


def threshold_model(pixel, threshold):
    """Class 1 iff x[pixel] > threshold, else class 0 (logits of a linear model on one pixel)."""
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
    kernel = np.zeros((784, 10), np.float32)
    bias = np.full(10, -100.0, np.float32)
    kernel[pixel, 1] = 1.0
    bias[0], bias[1] = 0.0, -threshold
    model.layers[-1].set_weights([kernel, bias])
    return model


def records_for(x, x_adv, success, labels, targets):
    n = len(x)
    distortion = np.where(success, transfer.per_pixel_rms(x_adv - x), np.nan)
    return AttackRecords(
        index=np.arange(n), label=labels, target=targets, success=success, c=np.ones(n),
        distortion_rms=distortion, distortion_l2=distortion * 28, distortion_linf=distortion,
        num_grad_evals=np.zeros(n), num_forward_evals=np.zeros(n), time_s=np.zeros(n), x_adv=x_adv,
    )


def test_an_evaluation_unit_counts_mispredictions_of_each_input():
    x = np.zeros((4, 28, 28), np.float32)
    x[:, 0, 0] = [0.0, 1.0, 1.0, 0.0]  # the model predicts 0, 1, 1, 0
    feeds = {("adversarial", "a"): (x[:3], np.array([0, 1, 1])), ("noise", 0.1): (x, np.array([1, 1, 1, 1])),
             ("adversarial", "b"): (x[:0], np.array([], np.int64))}
    rates = transfer.evaluate_unit((threshold_model(0, 0.5), feeds))  # in process: the handles are the objects
    assert rates[("adversarial", "a")] == 0.0 and rates[("noise", 0.1)] == 0.5
    assert list(rates) == list(feeds) and np.isnan(rates[("adversarial", "b")])


def test_diagonal_is_100_percent_over_successful_adversarials(mnist):
    models = {"a": threshold_model(0, 0.5), "b": threshold_model(300, 0.5)}
    x = np.zeros((6, 28, 28), np.float32)
    y = np.zeros(6, np.int64)  # both models predict 0 on blank images: correct
    x_adv = x.copy()
    x_adv[:4, 0, 0] = 0.75  # flips model a to class 1, not model b
    success = np.array([True, True, True, True, False, False])
    records = records_for(x, x_adv, success, y, np.ones(6))
    feeds = transfer.table_feeds("table2", ["a"], {"a": records}, x, y, transfer.Settings(), seed=0)
    errors_on = {name: transfer.evaluate_unit((model, feeds))[("adversarial", "a")] for name, model in models.items()}
    row = transfer.adversarial_row(records, x, errors_on)
    assert row["errors_on"] == {"a": 1.0, "b": 0.0}
    assert row["num_examples"] == 4
    assert row["distortion_rms_mean"] == pytest.approx(0.75 / 28)
    for model, count in (("a", 4), ("b", 0)):
        wilson = scipy.stats.binomtest(count, 4).proportion_ci(0.95, method="wilson")
        np.testing.assert_allclose(row["errors_on_ci"][model], [wilson.low, wilson.high], atol=1e-12)


def test_interval_table_shows_each_cell_with_its_wilson_interval():
    row = {"table": "table2", "errors_on": {"a": 0.06, "b": 0.5}, "errors_on_ci": {"a": [0.037, 0.087]},
           "num_examples": 300, "distortion_rms_mean": 0.07}
    document = {"entries": [{"id": "a", "paper_name": None, "transfer": row},
                            {"id": "b", "paper_name": None, "transfer": dict(row, errors_on={"b": 1.0},
                                                                           errors_on_ci={})}]}
    ci_tables = [t for t in transfer.tables(document, None, transfer.Settings()) if t.key.endswith("_ci")]
    assert [t.key for t in ci_tables] == ["table2_ci"]  # "b" has no intervals, so no row
    (table,) = ci_tables
    assert table.columns == ("Generated for / error on (%)", "a", "b", "n")
    assert table.rows == (("a", "6.0 [3.7, 8.7]", "—", "300"),)


@pytest.mark.parametrize("stddev", [0.06, 0.1, 0.3])
def test_gaussian_control_rows_have_the_stated_stddev(mnist, stddev):
    x, y = mnist.split("test")
    x, y = x[:500], y[:500]
    noisy = transfer.add_gaussian_noise(x, stddev, seed=1)
    noise = (noisy - x).ravel()
    # 392,000 draws: the sample stddev is within 0.5% of sigma with overwhelming probability.
    assert np.std(noise) == pytest.approx(stddev, rel=5e-3)
    assert abs(np.mean(noise)) < 5 * stddev / np.sqrt(noise.size)
    row = transfer.noise_row(x, stddev, 1, {"a": 0.5})
    assert row["stddev"] == stddev
    assert row["distortion_rms"] == pytest.approx(stddev, rel=1e-2)
    assert np.array_equal(noisy, transfer.add_gaussian_noise(x, stddev, seed=1))


def test_magnify_rms_and_literal_modes():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(5, 28, 28)).astype(np.float32)
    x_adv = x + rng.normal(0, 0.05, size=x.shape).astype(np.float32)
    rms = transfer.magnify(x, x_adv, mode="rms", size=0.1)
    assert np.allclose(transfer.per_pixel_rms(rms - x), 0.1, rtol=1e-5)
    literal = transfer.magnify(x, x_adv, mode="literal", size=0.1)
    assert np.allclose(np.linalg.norm((literal - x).reshape(5, -1), axis=1), 0.1, rtol=1e-4)
    # the paper's formula gives per-pixel RMS 0.1 / 28 = 0.0036, not its stated 0.1
    assert np.allclose(transfer.per_pixel_rms(literal - x), 0.1 / 28, rtol=1e-4)
    # magnification keeps the direction of each perturbation
    cosine = np.sum((rms - x) * (x_adv - x), axis=(1, 2)) / (
        np.linalg.norm((rms - x).reshape(5, -1), axis=1) * np.linalg.norm((x_adv - x).reshape(5, -1), axis=1))
    assert np.allclose(cosine, 1.0, atol=1e-5)


def test_settings_refuse_unknown_magnify_mode():
    with pytest.raises(ValueError, match="magnify: expected one of rms, literal"):
        transfer.Settings(magnify="double")
