"""Tests for robustbench_keras.submission.validation: shapes, classes, finite and deterministic outputs,
softmax detection, and the adapter's outputs against NumPy/SciPy references."""

import json

import keras
import numpy as np
import pytest
import scipy.special

from robustbench_keras.errors import ModelError
from robustbench_keras.submission import ValidatedModel, load_submitted_model, validate_model


def refusal(model, sample, **kwargs):
    """The one-line message of the ModelError that validating `model` raises."""
    with pytest.raises(ModelError) as caught:
        validate_model(model, sample[0], source="model.keras", **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("model.keras: ")
    return message


def fill_weights(model, layer_name, kernel, bias):
    layer = model.get_layer(layer_name)
    layer.set_weights([np.full_like(layer.kernel, kernel), np.full_like(layer.bias, bias)])


@pytest.mark.parametrize(("input_shape", "layout"), [((28, 28), "28x28"), ((28, 28, 1), "28x28x1"), ((784,), "784")])
def test_each_input_layout_is_adapted_to_28x28(build, sample, input_shape, layout):
    x, y = sample
    model = build(input_shape=input_shape)
    validated = validate_model(model, x, y)
    assert isinstance(validated, ValidatedModel)
    assert validated.input_layout == layout and validated.output_kind == "logits"
    assert validated.model.input_shape == (None, 28, 28)
    reference = model(x.reshape((len(x),) + input_shape)).numpy()  # the submitted model on its own layout
    logits = validated.model(x).numpy()
    np.testing.assert_allclose(logits, reference, rtol=1e-6, atol=1e-6)
    checks = json.loads(json.dumps(validated.checks))
    assert checks["input_layout"] == layout and checks["input_shape"] == [None, *input_shape]
    assert checks["deterministic"] and checks["finite"] and checks["num_sample"] == len(x)
    assert checks["sample_error"] == pytest.approx(np.mean(np.argmax(reference, axis=1) != y))


@pytest.mark.parametrize("input_shape", [(28, 28, 3), (32, 32), (10,), (1, 28, 28)])
def test_wrong_input_shape_is_refused(build, sample, input_shape):
    message = refusal(build(input_shape=input_shape), sample)
    assert f"input shape {(None, *input_shape)}, expected (None, 28, 28), (None, 28, 28, 1) or (None, 784)" in message


def test_fixed_batch_size_is_refused(sample):
    inputs = keras.Input(batch_shape=(64, 28, 28))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    assert "input shape (64, 28, 28)" in refusal(model, sample)


def test_integer_input_is_refused(sample):
    inputs = keras.Input(shape=(28, 28), dtype="uint8")
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(keras.ops.cast(inputs, "float32"))))
    assert "input dtype uint8, expected float32 pixels in [0, 1]" in refusal(model, sample)


def test_wrong_number_of_classes_is_refused(build, sample):
    message = refusal(build(num_classes=5), sample)
    assert "output shape (None, 5), expected (None, 10)" in message and "Dense(10)" in message


def test_two_outputs_are_refused(sample):
    inputs = keras.Input(shape=(28, 28))
    flat = keras.layers.Flatten()(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(10)(flat), keras.layers.Dense(10)(flat)])
    assert "has 2 outputs, expected one output of 10 class scores" in refusal(model, sample)


@pytest.mark.parametrize(("kernel", "bias"), [(np.nan, 0.0), (0.0, np.inf), (1e38, 0.0)])
def test_non_finite_outputs_are_refused(build, sample, kernel, bias):
    model = build()
    fill_weights(model, "scores", kernel, bias)
    message = refusal(model, sample)
    assert "outputs NaN or infinite values on" in message


def test_non_finite_outputs_on_some_images_only_are_refused(build, sample):
    """Weights of 1e38 on four central pixels overflow float32 only where those pixels are bright enough."""
    x = sample[0]
    model = build()
    kernel = np.zeros((784, 10), np.float32)
    kernel[400:404] = 1e38
    model.get_layer("scores").set_weights([kernel, np.zeros(10, np.float32)])
    brightness = x.reshape(len(x), -1)[:, 400:404].astype(np.float64).sum(axis=1)
    expected = int(np.sum(brightness * 1e38 > np.finfo(np.float32).max))
    assert 0 < expected < len(x)
    assert f"on {expected} of {len(x)} real images" in refusal(model, sample)


@pytest.mark.parametrize(
    "noise", [keras.layers.Dropout(0.5, seed=1), keras.layers.GaussianNoise(0.1, seed=1)], ids=["dropout", "noise"]
)
def test_randomness_in_inference_is_refused(sample, noise):
    inputs = keras.Input(shape=(28, 28))
    noisy = noise(keras.layers.Flatten()(inputs), training=True)  # active in inference: the submitter's mistake
    model = keras.Model(inputs, keras.layers.Dense(10)(noisy))
    message = refusal(model, sample)
    assert f"two predictions on the same {len(sample[0])} images differ" in message


def test_batch_normalization_left_in_training_mode_is_refused(sample):
    """Deterministic on a fixed batch, but normalised by the batch's statistics: not a function of the image."""
    inputs = keras.Input(shape=(28, 28))
    normalised = keras.layers.BatchNormalization()(keras.layers.Flatten()(inputs), training=True)
    model = keras.Model(inputs, keras.layers.Dense(10)(normalised))
    message = refusal(model, sample)
    assert "predictions with and without training=False on the same 64 images differ" in message


def test_dropout_used_normally_is_accepted(sample):
    inputs = keras.Input(shape=(28, 28))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dropout(0.5)(keras.layers.Flatten()(inputs))))
    validated = validate_model(model, sample[0])
    assert validated.checks["max_difference_between_runs"] == 0.0


@pytest.mark.parametrize("as_layer", [False, True], ids=["dense_activation", "softmax_layer"])
def test_softmax_outputs_are_wrapped_to_log_probabilities(build, sample, as_layer):
    x, y = sample
    if as_layer:
        inputs = keras.Input(shape=(784,))
        probabilities = keras.layers.Softmax()(keras.layers.Dense(10)(inputs))
        model, flat = keras.Model(inputs, probabilities), x.reshape(len(x), 784)
    else:
        model, flat = build(activation="softmax"), x
    probabilities = model(flat).numpy()
    validated = validate_model(model, x, y)
    assert validated.output_kind == "probabilities" and validated.checks["output_kind"] == "probabilities"
    logits = validated.model(x).numpy()
    np.testing.assert_array_equal(np.argmax(logits, axis=1), np.argmax(probabilities, axis=1))
    reference = scipy.special.softmax(logits.astype(np.float64), axis=1)
    np.testing.assert_allclose(reference, probabilities, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(logits, np.log(probabilities), rtol=1e-6)
    assert validated.checks["sample_error"] == pytest.approx(np.mean(np.argmax(probabilities, axis=1) != y))


def test_saturated_softmax_stays_finite(build, sample):
    model = build(activation="softmax")
    model.get_layer("scores").set_weights([np.zeros((784, 10), np.float32), np.arange(10, dtype=np.float32) * 30])
    validated = validate_model(model, sample[0])
    logits = validated.model(sample[0]).numpy()
    assert np.all(np.isfinite(logits)) and np.all(np.argmax(logits, axis=1) == 9)
    assert logits.min() == pytest.approx(np.log(np.finfo(np.float32).tiny))


def test_non_negative_scores_not_summing_to_one_are_logits(build, sample):
    validated = validate_model(build(activation="sigmoid"), sample[0])
    assert validated.output_kind == "logits"


@pytest.mark.parametrize(("input_shape", "activation"), [((784,), "softmax"), ((28, 28, 1), None)])
def test_adapted_model_saves_and_reloads_in_safe_mode(build, save, sample, probe_images, input_shape, activation):
    validated = validate_model(build(input_shape=input_shape, activation=activation), sample[0])
    reloaded = load_submitted_model(save(validated.model, "validated.keras"))
    np.testing.assert_array_equal(reloaded(probe_images).numpy(), validated.model(probe_images).numpy())
