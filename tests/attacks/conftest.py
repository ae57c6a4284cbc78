"""Small models trained in seconds on real MNIST, for the attack tests."""

import numpy as np
import pytest

NUM_TRAIN = 3000


def _train(model, mnist, epochs):
    import keras

    x, y = mnist.split("train")
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:NUM_TRAIN], y[:NUM_TRAIN], epochs=epochs, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="session")
def fc10(mnist):
    """A linear-softmax model (the paper's FC10 with weight decay 1e-4), logits out."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28))
    logits = keras.layers.Dense(10, kernel_regularizer=keras.regularizers.l2(1e-4))(keras.layers.Flatten()(inputs))
    return _train(keras.Model(inputs, logits), mnist, epochs=3)


@pytest.fixture(scope="session")
def mlp(mnist):
    """A small sigmoid 784-32-10 network, logits out."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28))
    hidden = keras.layers.Dense(32, activation="sigmoid")(keras.layers.Flatten()(inputs))
    return _train(keras.Model(inputs, keras.layers.Dense(10)(hidden)), mnist, epochs=3)


@pytest.fixture(scope="session")
def test_sample(mnist):
    """The first 32 test images and labels, with a seeded random wrong target each."""
    x, y = mnist.split("test")
    x, y = np.asarray(x[:32]), np.asarray(y[:32])
    targets = (y + np.random.default_rng(0).integers(1, 10, size=y.shape)) % 10
    return x, y, targets


@pytest.fixture(scope="session")
def fc10_records(fc10, test_sample):
    """The attack with its default settings (no XLA, batch 16) on the FC10 test sample."""
    from robustbench_keras.attacks import LBFGSAttack
    from robustbench_keras.attacks.settings import AttackSettings

    x, y, targets = test_sample
    return LBFGSAttack(AttackSettings(batch_size=16, jit_compile=False)).run(fc10, x, targets, y)


@pytest.fixture(scope="session")
def check_attack_contract():
    """What every attack's records must satisfy, checked against the model itself."""
    return _check_attack_contract


def _check_attack_contract(model, x, targets, records, success_margin=0.0):
    """Box, one row per example, success <=> the re-run model predicts the target, failures kept as rows."""
    assert len(records) == len(x)
    np.testing.assert_array_equal(records.index, np.arange(len(x)))
    np.testing.assert_array_equal(records.target, targets)
    assert records.x_adv.dtype == np.float32 and records.x_adv.shape == x.shape
    assert records.x_adv.min() >= 0.0 and records.x_adv.max() <= 1.0
    logits = np.asarray(model.predict(records.x_adv, verbose=0))
    predicted = np.argmax(logits, axis=1)
    success = records.success
    np.testing.assert_array_equal(predicted[success], targets[success])
    others = np.where(np.arange(logits.shape[1]) == targets[:, None], -np.inf, logits)
    margin = logits[np.arange(len(x)), targets] - others.max(axis=1)
    assert np.all(margin[success] > success_margin * 0.5)
    np.testing.assert_array_equal(records.x_adv[~success], x[~success])
    for name in ("distortion_rms", "distortion_l2", "distortion_linf"):
        values = getattr(records, name)
        assert np.all(np.isnan(values[~success])) and np.all(np.isfinite(values[success]))
    r = (records.x_adv.astype(np.float64) - x).reshape(len(x), -1)[success]
    np.testing.assert_allclose(records.distortion_l2[success], np.linalg.norm(r, axis=1), rtol=1e-6)
    np.testing.assert_allclose(records.distortion_rms[success], np.linalg.norm(r, axis=1) / np.sqrt(r.shape[1]), rtol=1e-6)
    np.testing.assert_allclose(records.distortion_linf[success], np.abs(r).max(axis=1, initial=0), rtol=1e-6)
    assert np.all(records.num_grad_evals >= 0) and np.all(records.num_forward_evals > 0)
