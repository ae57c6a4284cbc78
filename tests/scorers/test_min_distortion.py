"""min_distortion scorer (Tables 1 and 3): samples, settings, resumable chunks, the side-by-side figure."""

import types

import numpy as np
import pytest

from robustbench_keras.attacks import AttackRecords
from robustbench_keras.scorers import min_distortion


def test_sample_is_seeded_sorted_and_without_repeats():
    a = min_distortion.sample_indices(60000, 1000, seed=0)
    assert np.array_equal(a, min_distortion.sample_indices(60000, 1000, seed=0))
    assert len(np.unique(a)) == 1000 and np.all(np.diff(a) > 0)
    assert not np.array_equal(a, min_distortion.sample_indices(60000, 1000, seed=1))
    assert len(min_distortion.sample_indices(50, 1000, seed=0)) == 50


def test_tables_choose_their_split():
    settings = min_distortion.Settings(table1_split="train", table3_split="test")
    assert settings.split_for("table1") == "train"
    assert settings.split_for("table3") == "test"


@pytest.mark.parametrize("field, value, message", [
    ("target_policy", "nearest", "target_policy: expected one of"),
    ("num_examples", 0, "num_examples: expected a positive integer"),
    ("table1_split", "validation", "table1_split: expected one of"),
])
def test_settings_refuse_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        min_distortion.Settings(**{field: value})


def test_score_certifies_an_affine_model_against_the_exact_optimum(mnist, tmp_path):
    import keras

    from robustbench_keras.attacks import LBFGSAttack
    from robustbench_keras.attacks.settings import AttackSettings

    keras.utils.set_random_seed(0)
    x, y = mnist.split("train")
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:3000], y[:3000], epochs=2, batch_size=100, verbose=0)
    attack = LBFGSAttack(AttackSettings(batch_size=8))
    records, summary = min_distortion.score(
        attack, model, x[:8], y[:8], target_policy="random", seed=0, output=tmp_path, name="fc10",
        progress=False, chunk_size=4,
    )
    exact = summary["exact_optimum_ratio"]
    assert exact["n"] == int(np.sum(records.success & (records.distortion_l2 > 0)))
    # The QP optimum is a lower bound of any successful perturbation, and the attack comes within 2%.
    assert 1.0 - 1e-6 <= exact["median"] <= exact["max"] <= 1.05
    assert summary["records"]["path"].endswith(".npz") and len(records) == 8
    assert np.array_equal(records.index, np.arange(8))  # chunk positions joined into sample positions
    hidden = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                               keras.layers.Dense(16, activation="sigmoid"), keras.layers.Dense(10)])
    assert min_distortion.compare_with_exact_optimum(records, x[:8], hidden) is None


def _records(success, target, x_adv):
    n = len(success)
    return AttackRecords(
        index=np.arange(n), label=np.zeros(n, np.int64), target=np.asarray(target), success=np.asarray(success),
        c=np.ones(n), distortion_rms=np.full(n, 0.1), distortion_l2=np.full(n, 2.8), distortion_linf=np.full(n, 0.5),
        num_grad_evals=np.zeros(n), num_forward_evals=np.zeros(n), time_s=np.zeros(n), x_adv=x_adv,
    )


def test_side_by_side_figure_shows_the_images_every_listed_model_won_toward_the_same_target(tmp_path):
    x = np.random.default_rng(0).random((5, 28, 28)).astype(np.float32)
    records = {"plain": _records([1, 1, 0, 1, 1], [3, 4, 5, 6, 7], x + 0.01),
               "masked": _records([1, 1, 1, 0, 1], [3, 9, 5, 6, 7], x + 0.02),
               "other": _records([0, 0, 0, 0, 0], [3, 4, 5, 6, 7], x)}
    entries = {m: types.SimpleNamespace(sections={"min_distortion": {"train": {}}}) for m in records}
    context = types.SimpleNamespace(records=records, entries=entries, samples={"train": (x, np.arange(5))})
    document = {"scorers": {"min_distortion": {"side_by_side_models": ["plain", "masked"]}},
                "entries": [{"id": m, "paper_name": None} for m in records], "data_fingerprint": {"dataset": "mnist"}}
    (figure,) = [f for f in min_distortion.figures(document, context) if f[1] == "side_by_side.png"]
    caption, _, draw, (images, adversarials, labels, targets) = figure
    assert "plain, masked" in caption
    np.testing.assert_array_equal(images, x[[0, 4]])  # 1: other targets, 2 and 3: one attack failed
    assert list(adversarials) == ["plain", "masked"]
    np.testing.assert_array_equal(adversarials["masked"], x[[0, 4]] + 0.02)
    assert list(labels) == [0, 4] and list(targets) == [3, 7]
    assert draw(tmp_path / "side.png", images, adversarials, labels, targets).is_file()
    document["scorers"]["min_distortion"]["side_by_side_models"] = ["plain", "absent"]
    assert not [f for f in min_distortion.figures(document, context) if f[1] == "side_by_side.png"]
