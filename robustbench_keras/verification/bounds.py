"""Interval bound propagation through a ReLU net over an L∞ ball clipped to [0, 1] (Gowal et al. 2018, arXiv 1810.12715).

A net is read once into `Step`s on flattened activations (channels last, C order, as Keras's Flatten):
each weight layer becomes one affine map `x @ weight + bias` (a Conv2D becomes its dense matrix, fine for
the small nets exact verification is for), optionally followed by a ReLU. Flatten, Reshape and the input
layer change nothing in that representation.
"""

import dataclasses

import keras
import numpy as np

from robustbench_keras.errors import ModelError

_IDENTITY_LAYERS = (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Reshape)


@dataclasses.dataclass(frozen=True)
class Step:
    """One weight layer on flattened activations: `x @ weight + bias`, then a ReLU when `relu`.

    Attributes:
        name: the Keras layer's name.
        weight: float64 (num_inputs, num_outputs).
        bias: float64 (num_outputs,).
        relu: whether a ReLU follows.
    """

    name: str
    weight: np.ndarray
    bias: np.ndarray
    relu: bool


def _activation_is_relu(layer, model_name):
    name = keras.activations.serialize(layer.activation)
    name = name if isinstance(name, str) else name.get("config", name.get("class_name"))
    if name not in ("relu", "linear"):
        raise ModelError(f"verification: model '{model_name}' layer '{layer.name}' has activation '{name}'; "
                         "exact verification supports ReLU nets only")
    return name == "relu"


def _conv_matrix(layer):
    """The dense (num_inputs, num_outputs) matrix of a Conv2D's linear part, from its response to each basis image."""
    shape = tuple(layer.input.shape[1:])
    size = int(np.prod(shape))
    basis = np.eye(size, dtype=np.float32).reshape((size,) + shape)
    kernel = layer.kernel.numpy()
    out = keras.ops.conv(basis, kernel, strides=layer.strides, padding=layer.padding, dilation_rate=layer.dilation_rate)
    return np.asarray(out, dtype=np.float64).reshape(size, -1)


def network_steps(model):
    """The model as `Step`s, input side first.

    Raises:
        ModelError: a layer other than Dense, Conv2D, ReLU, Flatten or Reshape, or a non-ReLU activation.
    """
    steps = []
    for layer in model.layers:
        if isinstance(layer, _IDENTITY_LAYERS):
            continue
        if isinstance(layer, keras.layers.ReLU) or (
            isinstance(layer, keras.layers.Activation) and _activation_is_relu(layer, model.name)
        ):
            if not steps or steps[-1].relu:
                raise ModelError(f"verification: model '{model.name}' layer '{layer.name}': a ReLU must follow a weight layer")
            steps[-1] = dataclasses.replace(steps[-1], relu=True)
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            weight = _conv_matrix(layer) if isinstance(layer, keras.layers.Conv2D) else layer.kernel.numpy().astype(np.float64)
            bias = layer.bias.numpy().astype(np.float64) if layer.use_bias else np.zeros(weight.shape[1])
            if isinstance(layer, keras.layers.Conv2D):
                bias = np.broadcast_to(bias, tuple(layer.output.shape[1:])).reshape(-1)
            steps.append(Step(layer.name, weight, bias, _activation_is_relu(layer, model.name)))
        else:
            raise ModelError(f"verification: model '{model.name}' layer '{layer.name}' ({type(layer).__name__}) "
                             "is not supported (Dense, Conv2D, ReLU, Flatten, Reshape)")
    if not steps or steps[-1].relu:
        raise ModelError(f"verification: model '{model.name}' must end in a weight layer giving logits")
    return steps


def input_box(x, epsilon):
    """Lower and upper bounds of the L∞ ball of radius `epsilon` around `x`, clipped to [0, 1], flattened per example."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return np.clip(x - epsilon, 0.0, 1.0), np.clip(x + epsilon, 0.0, 1.0)


def interval_bounds(steps, x, epsilon):
    """Pre-activation bounds of every step over the clipped L∞ ball, per example.

    Args:
        steps: `network_steps(model)`.
        x: float (num_examples, ...) in [0, 1].
        epsilon: the ball's L∞ radius.

    Returns:
        [(lower, upper)] one pair per step, each float64 (num_examples, num_outputs); the last is the logits'.
    """
    lower, upper = input_box(x, epsilon)
    bounds = []
    for step in steps:
        center, radius = (upper + lower) / 2, (upper - lower) / 2
        center, radius = center @ step.weight + step.bias, radius @ np.abs(step.weight)
        bounds.append((center - radius, center + radius))
        lower, upper = bounds[-1]
        if step.relu:
            lower, upper = np.maximum(lower, 0.0), np.maximum(upper, 0.0)
    return bounds


def relu_counts(steps, bounds):
    """Stable and unstable ReLUs per ReLU layer: {layer name: {"num_active", "num_inactive", "num_unstable"}}, per example arrays."""
    counts = {}
    for step, (lower, upper) in zip(steps, bounds):
        if step.relu:
            counts[step.name] = {
                "num_active": (lower >= 0).sum(axis=1),
                "num_inactive": (upper <= 0).sum(axis=1),
                "num_unstable": ((lower < 0) & (upper > 0)).sum(axis=1),
            }
    return counts
