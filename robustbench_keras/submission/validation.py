"""Validation of a loaded model against the suite's data, and the adapter every scorer then uses.

A submitted model may take images as `(28, 28)`, `(28, 28, 1)` or `(784,)` and may end in a softmax.
`validate_model` checks it on real images (one input, one output of `num_classes` scores, finite and
deterministic in inference) and returns a `ValidatedModel` whose `model` takes float32 `(N, 28, 28)`
in [0, 1] and returns logits `(N, num_classes)`, as every zoo model does.

The adapter is built from standard Keras pieces only (`Reshape`, `keras.ops.maximum`, `keras.ops.log`),
so it saves to `.keras` and reloads in safe mode. A model whose outputs are probabilities (every row
non-negative, summing to 1 within `PROBABILITY_SUM_TOLERANCE`) is wrapped to return log-probabilities:
`softmax(log p) = p`, so they are valid logits for the attack's loss and give the same argmax. Their
gradient is the softmax's, which vanishes where it saturates (a probability below float32's smallest
normal number is clamped to it); a model submitted as logits keeps the full gradient.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from robustbench_keras.data.idx import IMAGE_SHAPE
from robustbench_keras.errors import ModelError

INPUT_LAYOUTS = {(28, 28): "28x28", (28, 28, 1): "28x28x1", (784,): "784"}
LAYOUT_SHAPES = {layout: shape for shape, layout in INPUT_LAYOUTS.items()}
PROBABILITY_SUM_TOLERANCE = 1e-3
# Inference passes on the same batch must agree to float32 round-off; dropout or noise differ by far more.
DETERMINISM_RTOL = 1e-5
DETERMINISM_ATOL = 1e-6
SMALLEST_PROBABILITY = float(np.finfo(np.float32).tiny)
BATCH_SIZE = 256
NUM_VALIDATION_EXAMPLES = 256  # the first test images a submission is checked on


@dataclasses.dataclass(frozen=True, eq=False)
class ValidatedModel:
    """A submitted model that passed validation, adapted to the suite's convention.

    Attributes:
        model: `keras.Model` taking float32 `(N, 28, 28)` in [0, 1], returning logits `(N, num_classes)`.
        input_layout: the submitted model's own input layout, "28x28", "28x28x1" or "784".
        output_kind: "logits", or "probabilities" (then `model` returns log-probabilities).
        checks: JSON-able record of what was checked and found.
    """

    model: keras.Model
    input_layout: str
    output_kind: str
    checks: dict


def validate_on_dataset(model, dataset, source=None):
    """`validate_model` on the first `NUM_VALIDATION_EXAMPLES` test images of a suite's dataset."""
    x_test, y_test = dataset.split("test")
    return validate_model(model, x_test[:NUM_VALIDATION_EXAMPLES], y_test[:NUM_VALIDATION_EXAMPLES], source=source)


def validate_model(model, x_sample, y_sample=None, num_classes=10, source=None):
    """Checks a model on real images and adapts it to `(N, 28, 28)` in, logits out.

    Args:
        model: the loaded `keras.Model`.
        x_sample: float32 `(N, 28, 28)` in [0, 1], real images of the suite's dataset (N >= 1).
        y_sample: optional int `(N,)` labels; if given, `checks["sample_error"]` records the error rate.
        num_classes: the number of classes of the suite's dataset.
        source: how messages name the model (e.g. its file); defaults to `model.name`.

    Returns:
        A `ValidatedModel`.

    Raises:
        ModelError: more or fewer than one input or output; an input shape other than (28, 28),
            (28, 28, 1) or (784,) (batch size free) or a non-float input; a number of classes other than
            `num_classes`; NaN or infinite outputs; predictions on the same batch that differ between two
            calls, or with and without `training=False`.
        ValueError: `x_sample` or `y_sample` is malformed (a caller's bug, not the submitter's).
    """
    source = source or model.name
    x, y = _check_sample(x_sample, y_sample)
    input_shape, layout, input_dtype = _input_layout(model, source)
    output_shape = _output_shape(model, source, num_classes)
    adapted = _adapt(model, layout, to_log=False)
    first = _predict(adapted, x, source)
    if first.shape != (len(x), num_classes):
        raise ModelError(
            f"{source}: returns shape {first.shape} on {len(x)} images, expected ({len(x)}, {num_classes}): "
            "one score per class"
        )
    _check_finite(first, source)
    difference = _check_deterministic(adapted, x, first, source)
    row_sum_deviation = float(np.max(np.abs(first.sum(axis=1, dtype=np.float64) - 1.0)))
    is_probability = bool(np.all(first >= 0.0)) and row_sum_deviation <= PROBABILITY_SUM_TOLERANCE
    output_kind = "probabilities" if is_probability else "logits"
    adapted = _adapt(model, layout, to_log=is_probability)
    logits = _predict(adapted, x, source) if is_probability else first
    checks = {
        "input_shape": list(input_shape),
        "input_layout": layout,
        "input_dtype": input_dtype,
        "output_shape": list(output_shape),
        "num_classes": num_classes,
        "num_sample": len(x),
        "finite": True,
        "deterministic": True,
        "max_difference_between_runs": difference,
        "output_kind": output_kind,
        "min_output": float(first.min()),
        "max_row_sum_deviation": row_sum_deviation,
        "adapters": _adapter_names(layout, is_probability),
    }
    if y is not None:
        checks["sample_error"] = float(np.mean(np.argmax(logits, axis=1) != y))
    return ValidatedModel(model=adapted, input_layout=layout, output_kind=output_kind, checks=checks)


def _check_sample(x_sample, y_sample):
    x = np.asarray(x_sample, dtype=np.float32)
    if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE or len(x) == 0:
        raise ValueError(f"x_sample: expected float32 (N, 28, 28) with N >= 1, got shape {x.shape}")
    if not (np.all(np.isfinite(x)) and x.min() >= 0.0 and x.max() <= 1.0):
        raise ValueError("x_sample: expected pixel values in [0, 1]")
    if y_sample is None:
        return x, None
    y = np.asarray(y_sample)
    if y.shape != (len(x),):
        raise ValueError(f"y_sample: expected shape ({len(x)},), got {y.shape}")
    return x, y


def _input_layout(model, source):
    inputs = _symbolic(model, "inputs", source)
    if len(inputs) != 1:
        raise ModelError(f"{source}: has {len(inputs)} inputs, expected one image input of shape (28, 28)")
    shape = tuple(inputs[0].shape)
    if shape[0] is not None or shape[1:] not in INPUT_LAYOUTS:
        raise ModelError(
            f"{source}: input shape {shape}, expected (None, 28, 28), (None, 28, 28, 1) or (None, 784) "
            "(any batch size); build the model on keras.Input(shape=(28, 28))"
        )
    dtype = str(inputs[0].dtype)
    if not dtype.startswith(("float", "bfloat")):
        raise ModelError(f"{source}: input dtype {dtype}, expected float32 pixels in [0, 1]")
    return shape, INPUT_LAYOUTS[shape[1:]], dtype


def _output_shape(model, source, num_classes):
    outputs = _symbolic(model, "outputs", source)
    if len(outputs) != 1:
        raise ModelError(f"{source}: has {len(outputs)} outputs, expected one output of {num_classes} class scores")
    shape = tuple(outputs[0].shape)
    if len(shape) != 2 or shape[1] != num_classes:
        raise ModelError(
            f"{source}: output shape {shape}, expected (None, {num_classes}): one score per class of the suite's "
            f"dataset; end the model with Dense({num_classes})"
        )
    return shape


def _symbolic(model, attribute, source):
    """The model's symbolic `inputs` or `outputs`, which only a built Functional/Sequential model has."""
    try:
        tensors = getattr(model, attribute)
    except (AttributeError, ValueError):
        tensors = None
    if not tensors:
        raise ModelError(
            f"{source}: the model has no defined {attribute}; build it on keras.Input(shape=(28, 28)) "
            "(Functional or Sequential API)"
        )
    return list(tensors)


def _adapt(model, layout, to_log):
    """The model behind a `(N, 28, 28)` input, returning log-probabilities if `to_log`; standard layers only.

    A model that needs no adapter is returned as it is; otherwise a chain model's own layers are applied
    after the adapter, so the scorers (spectral bounds, hidden layers) see a flat chain of layers.
    """
    target = LAYOUT_SHAPES[layout]
    if target == IMAGE_SHAPE and not to_log:
        return model
    image = keras.Input(shape=IMAGE_SHAPE, name="robustbench_image")
    x = image if target == IMAGE_SHAPE else keras.layers.Reshape(target, name=f"robustbench_to_{layout}")(image)
    scores = _apply_layers(model, x)
    if to_log:
        scores = keras.ops.log(keras.ops.maximum(scores, SMALLEST_PROBABILITY))
    return keras.Model(image, scores, name=f"{model.name}_validated")


def _apply_layers(model, x):
    """The model applied to `x`: layer by layer when it is a chain, else as one nested layer."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not isinstance(model, keras.Sequential):
        links = zip([model.inputs[0]] + [layer.output for layer in layers[:-1]], layers)
        if len(model.inputs) != 1 or not all(layer.input is previous for previous, layer in links):
            return model(x)
    for layer in layers:
        x = layer(x)
    return x


def _adapter_names(layout, to_log):
    names = [] if LAYOUT_SHAPES[layout] == IMAGE_SHAPE else [f"Reshape{LAYOUT_SHAPES[layout]}"]
    if to_log:
        names.append(f"log(maximum(p, {SMALLEST_PROBABILITY:.6g}))")
    return names


def _predict(model, x, source, training=None):
    """The model's outputs on `x` in batches, called as the scorers call it (no `training` argument)."""
    try:
        batches = [
            keras.ops.convert_to_numpy(model(x[start : start + BATCH_SIZE], training=training))
            for start in range(0, len(x), BATCH_SIZE)
        ]
    except (ValueError, TypeError, tf.errors.OpError) as error:
        detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise ModelError(f"{source}: fails on real images of shape (N, 28, 28): {detail}") from None
    return np.concatenate(batches).astype(np.float32)


def _check_deterministic(model, x, first, source):
    """Refuses outputs that change between calls, or between the default call and `training=False`.

    Scorers call the model without a `training` argument; a layer called with `training=True` inside the
    model (Dropout, GaussianNoise, BatchNormalization) stays active then, and `training=False` reveals it.

    Returns:
        The largest absolute difference seen between the three predictions.
    """
    second = _predict(model, x, source)
    inference = _predict(model, x, source, training=False)
    difference = float(max(np.max(np.abs(first - second)), np.max(np.abs(first - inference))))
    for other, what in ((second, "two predictions on"), (inference, "predictions with and without training=False on")):
        if not np.allclose(first, other, rtol=DETERMINISM_RTOL, atol=DETERMINISM_ATOL):
            raise ModelError(
                f"{source}: {what} the same {len(x)} images differ by up to {difference:.3g}: a layer is active in "
                "inference (e.g. Dropout, GaussianNoise or BatchNormalization called with training=True); remove it"
            )
    return difference


def _check_finite(scores, source):
    bad_rows = np.flatnonzero(~np.all(np.isfinite(scores), axis=1))
    if len(bad_rows):
        raise ModelError(
            f"{source}: outputs NaN or infinite values on {len(bad_rows)} of {len(scores)} real images "
            f"(first: image {bad_rows[0]}); check the weights and the last layers"
        )
