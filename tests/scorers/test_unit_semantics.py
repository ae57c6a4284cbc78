"""Tests of the Property 1 scorer (units versus random directions) and its coherence helpers."""

import json
import math

import keras
import numpy as np
import pytest

from robustbench_keras.errors import ModelError, SuiteError
from robustbench_keras.scorers import coherence, unit_semantics

NUM_EXAMPLES = 2000


@pytest.fixture(scope="module")
def held_out(mnist):
    """The first 2,000 MNIST test images, the held-out set of every test here."""
    return mnist.x_test[:NUM_EXAMPLES], mnist.y_test[:NUM_EXAMPLES]


@pytest.fixture(scope="module")
def detector_model(mnist):
    """A model whose hidden unit c is log p(c | x) of a linear classifier fitted on MNIST.

    The classifier is ridge regression onto one-hot labels (closed form, 10,000 training images).
    The hidden layer `detector` applies 10x its scores s with a log-softmax, which approaches the
    margin s_c - max_{j != c} s_j, so unit c ranks images by how surely they are a `c`: a class
    detector. (Unscaled, the soft maximum lets an image with two high scores rank high.) The logits
    layer is the identity.
    """
    x = mnist.x_train[:10000].reshape(10000, -1).astype(np.float64)
    x = np.hstack([x, np.ones((len(x), 1))])
    targets = np.eye(10)[mnist.y_train[:10000]]
    weights = 10.0 * np.linalg.solve(x.T @ x + np.eye(x.shape[1]), x.T @ targets)
    inputs = keras.Input((28, 28))
    hidden = keras.layers.Dense(10, activation="log_softmax", name="detector")(keras.layers.Flatten()(inputs))
    logits = keras.layers.Dense(10, name="logits")(hidden)
    model = keras.Model(inputs, logits, name="detector_net")
    model.get_layer("detector").set_weights([weights[:-1].astype(np.float32), weights[-1].astype(np.float32)])
    model.get_layer("logits").set_weights([np.eye(10, dtype=np.float32), np.zeros(10, np.float32)])
    return model


def untrained_model(seed, name="untrained"):
    """Flatten -> Dense(64, relu) `hidden` -> Dense(10) logits, Glorot-initialised from `seed`."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((28, 28))
    hidden = keras.layers.Dense(64, activation="relu", name="hidden")(keras.layers.Flatten(name="flatten")(inputs))
    return keras.Model(inputs, keras.layers.Dense(10, name="logits")(hidden), name=name)


@pytest.fixture(scope="module")
def untrained():
    return untrained_model(seed=1)


SETTINGS = unit_semantics.Settings(num_directions=10, top_k=10, num_examples=NUM_EXAMPLES, num_resamples=500)


def test_class_detector_units_have_purity_one(detector_model, held_out, untrained):
    result = unit_semantics.score(detector_model, *held_out, SETTINGS, reference_model=untrained)
    layer = result["layers"]["detector"]  # found as the input of the final Dense logits layer
    assert layer["unit"]["directions"] == list(range(10))
    assert layer["unit"]["purity"]["values"] == [1.0] * 10
    assert layer["unit"]["majority_labels"] == list(range(10))  # unit c finds the c's
    assert layer["unit"]["purity"]["mean"] == 1.0 and layer["unit"]["purity"]["ci95"] == [1.0, 1.0]
    assert layer["alpha_per_measure"] == pytest.approx(0.05 / 3)  # Bonferroni over the three measures
    for measure in unit_semantics.MEASURES:
        assert layer["tests"][measure]["name"] == "mann_whitney_u"
        low, high = layer["unit"][measure]["ci95"]
        assert low <= layer["unit"][measure]["mean"] <= high


def test_untrained_network_units_and_random_directions_are_alike(untrained, held_out):
    # Not at label chance: the k images that maximise any fixed combination of pixels tend to share
    # a digit class (thick zeros, long ones), so even an untrained net gives purity ~0.5 against a
    # chance level ~0.27. What holds is that units and random directions do not differ.
    layer = unit_semantics.score(untrained, *held_out, SETTINGS)["layers"]["hidden"]
    chance = layer["chance"]["purity"]
    for kind in ("unit", "random"):
        assert chance < layer[kind]["purity"]["mean"] < 0.8
    assert not layer["distinguishable"]
    assert "are not distinguishable" in layer["verdict"] and "'hidden'" in layer["verdict"]
    assert set(layer["tests"]) == {"purity", "pixel_similarity"}  # no reference model given


def test_labels_unrelated_to_images_give_chance_purity(untrained, held_out):
    x, y = held_out
    shuffled = np.random.default_rng(5).permutation(y)
    settings = unit_semantics.Settings(num_directions=40, top_k=10, num_examples=NUM_EXAMPLES, num_resamples=500)
    layer = unit_semantics.score(untrained, x, shuffled, settings)["layers"]["hidden"]
    # Under shuffled labels each top-k set is a random k-subset as far as labels go: purity has
    # standard deviation ~0.08 per set, so the mean of 40 sets is within 0.06 (~4.5 standard errors).
    for kind in ("unit", "random"):
        assert layer[kind]["purity"]["mean"] == pytest.approx(layer["chance"]["purity"], abs=0.06)


def test_chance_purity_matches_the_multinomial_expectation(held_out):
    _, y = held_out
    k = 10
    sets = coherence.random_sets(len(y), k, num_sets=4000, seed=0)
    estimate = coherence.purity(y[sets]).mean()
    # Exact E[max count] / k for k draws with replacement from the class frequencies (2,000 >> 10,
    # so drawing without replacement barely differs); Monte Carlo standard error ~0.0013.
    frequencies = np.bincount(y, minlength=10) / len(y)
    expected_max = sum(1.0 - _probability_all_counts_at_most(frequencies, k, m) for m in range(k))
    assert estimate == pytest.approx(expected_max / k, abs=0.006)


def _probability_all_counts_at_most(frequencies, k, m):
    """P(every class count <= m) for k multinomial draws: k! [t^k] prod_c sum_{j<=m} (p_c t)^j / j!."""
    product = np.zeros(k + 1)
    product[0] = 1.0
    for p in frequencies:
        factor = np.array([p**j / math.factorial(j) if j <= m else 0.0 for j in range(k + 1)])
        product = np.convolve(product, factor)[: k + 1]
    return math.factorial(k) * product[k]


def test_same_seed_same_result_and_other_seed_other_directions(untrained, held_out):
    first = unit_semantics.score(untrained, *held_out, SETTINGS)
    assert unit_semantics.score(untrained, *held_out, SETTINGS) == first
    other = unit_semantics.score(untrained, *held_out, unit_semantics.Settings(**{**vars(SETTINGS), "seed": 1}))
    assert other["layers"]["hidden"]["random"]["top_k_indices"] != first["layers"]["hidden"]["random"]["top_k_indices"]


def test_result_is_strict_json_with_settings(untrained, held_out):
    result = unit_semantics.score(untrained, *held_out, SETTINGS, layer=["hidden", "flatten"])
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    assert result["settings"]["top_k"] == 10 and list(result["layers"]) == ["hidden", "flatten"]
    assert result["layers"]["flatten"]["num_units"] == 784
    assert result["layers"]["hidden"]["unit"]["reference_similarity"] is None


def test_nonexistent_layer_is_a_model_error_listing_the_layers(untrained, held_out):
    with pytest.raises(ModelError, match=r"got 'dense_99'; available layers: input_layer\w*, flatten, hidden, logits$"):
        unit_semantics.score(untrained, *held_out, SETTINGS, layer="dense_99")


def test_last_hidden_layer_is_the_input_of_the_final_dense():
    sequential = keras.Sequential([
        keras.Input((28, 28)), keras.layers.Reshape((28, 28, 1)), keras.layers.Conv2D(2, 3, name="conv"),
        keras.layers.Flatten(name="flat"), keras.layers.Dense(10, name="logits"),
        keras.layers.Activation("linear", name="identity"),
    ])
    assert unit_semantics.find_layer(sequential) == "flat"
    assert unit_semantics.activations(sequential, np.zeros((3, 28, 28), np.float32)).shape == (3, 26 * 26 * 2)


def test_settings_and_sample_size_mistakes_are_suite_errors(untrained, held_out):
    with pytest.raises(SuiteError, match=r"unit_semantics.top_k: expected an integer >= 2, got 1"):
        unit_semantics.Settings(top_k=1)
    with pytest.raises(SuiteError, match=r"unit_semantics.alpha: expected a number in \(0, 1\), got 2"):
        unit_semantics.Settings(alpha=2)
    with pytest.raises(SuiteError, match=r"expected at most the 2000 held-out images given, got 10000"):
        unit_semantics.score(untrained, *held_out, unit_semantics.Settings())


def test_dead_units_are_not_chosen_and_an_all_dead_layer_is_refused():
    features = np.zeros((50, 4))
    features[:, 1] = np.arange(50)  # alive
    features[:3, 2] = 1.0  # only 3 images above its floor: top 5 would be set by tie-breaking
    assert unit_semantics.eligible_units(features, k=5).tolist() == [1]
    settings = unit_semantics.Settings(num_directions=2, top_k=5, num_examples=50)
    with pytest.raises(ModelError, match=r"every unit of layer 'dead' is constant"):
        unit_semantics.score_layer(np.zeros((50, 4)), np.zeros(50, np.int64), {}, settings, "dead")


def test_top_k_indices_take_the_largest_first():
    scores = np.array([[0.1, 5.0], [0.9, -1.0], [0.5, 2.0], [0.9, 0.0]])
    assert unit_semantics.top_k_indices(scores, 2).tolist() == [[1, 3], [0, 2]]


def test_random_directions_are_unit_length_and_seeded():
    first = unit_semantics.random_directions(30, 5, np.random.default_rng(3))
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0)
    np.testing.assert_array_equal(first, unit_semantics.random_directions(30, 5, np.random.default_rng(3)))


def test_purity_and_pairwise_cosine_against_brute_force():
    assert coherence.purity([[3, 3, 1, 3], [0, 1, 2, 3]]).tolist() == [0.75, 0.25]
    rng = np.random.default_rng(0)
    features = rng.random((30, 7))
    rows = coherence.unit_rows(features)
    sets = np.array([[0, 4, 9], [2, 3, 29]])
    centred = features - features.mean(axis=0)
    for got, members in zip(coherence.mean_pairwise_cosine(rows, sets), sets):
        pairs = [(a, b) for i, a in enumerate(members) for b in members[i + 1:]]
        cosines = [centred[a] @ centred[b] / np.linalg.norm(centred[a]) / np.linalg.norm(centred[b]) for a, b in pairs]
        assert got == pytest.approx(np.mean(cosines), abs=1e-12)


def test_identical_samples_are_not_distinguishable():
    values = [0.4, 0.5, 0.5, 0.6, 0.7, 0.9, 1.0, 0.3]
    test = coherence.compare(values, list(values), alpha=0.05)
    assert test["p_value"] == pytest.approx(1.0) and not test["distinguishable"]
    assert coherence.compare([1.0] * 6, [1.0] * 6, alpha=0.05)["p_value"] == 1.0


def test_separated_samples_are_distinguishable_with_the_exact_p_value():
    units, random = np.arange(8) + 10.0, np.arange(8) + 0.5
    test = coherence.compare(units, random, alpha=0.05)
    # No ties, 8 vs 8: the exact null gives each of the C(16, 8) rankings equal probability, and only
    # the two complete separations are as extreme, so p = 2 / C(16, 8).
    assert test["p_value"] == pytest.approx(2 / math.comb(16, 8), rel=1e-9)
    assert test["statistic"] == 64.0 and test["distinguishable"]
