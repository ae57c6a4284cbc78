"""The ReLU-stability loss of Xiao et al. 2019 (arXiv 1809.03008, Section 4.2), differentiable, in TensorFlow.

For every ReLU, l and u are its pre-activation interval bounds over the L∞ ball of radius ε around the
example, clipped to [0, 1]; RS = −Σ tanh(1 + l·u) over units, averaged over the batch. A unit whose
bounds straddle zero (l < 0 < u, unstable: one binary in the MILP) has l·u < 0 and is pushed towards stable.
"""

import keras
import tensorflow as tf

from robustbench_keras.errors import ModelError

_IDENTITY_LAYERS = (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Reshape)


def _affine(layer, center, radius):
    if isinstance(layer, keras.layers.Dense):
        return layer.bias + center @ layer.kernel, radius @ tf.abs(layer.kernel)
    conv = dict(strides=layer.strides, padding=layer.padding, dilation_rate=layer.dilation_rate)
    return (keras.ops.conv(center, layer.kernel, **conv) + layer.bias,
            keras.ops.conv(radius, tf.abs(layer.kernel), **conv))


def relu_stability_loss(model, x, epsilon):
    """−Σ tanh(1 + l·u) over the model's ReLUs (Dense/Conv2D with activation "relu"), mean over the batch.

    Args:
        model: keras.Model of Flatten, Reshape, Dense and Conv2D layers (ReLU or linear activations).
        x: float32 (batch, ...) in [0, 1].
        epsilon: the ball's L∞ radius.

    Returns:
        A scalar tensor.

    Raises:
        ModelError: another layer type or activation.
    """
    lower = tf.clip_by_value(tf.convert_to_tensor(x) - epsilon, 0.0, 1.0)
    upper = tf.clip_by_value(tf.convert_to_tensor(x) + epsilon, 0.0, 1.0)
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, _IDENTITY_LAYERS):
            shape = (-1,) + tuple(layer.output.shape[1:])
            lower, upper = tf.reshape(lower, shape), tf.reshape(upper, shape)
            continue
        activation = getattr(layer, "activation", None)
        if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)) or activation not in (
            keras.activations.relu, keras.activations.linear):
            raise ModelError(f"rs_loss: layer '{layer.name}' ({type(layer).__name__}) is not a Dense/Conv2D with ReLU or linear activation")
        center, radius = _affine(layer, (upper + lower) / 2, (upper - lower) / 2)
        lower, upper = center - radius, center + radius
        if activation is keras.activations.relu:
            per_example = tf.reduce_sum(tf.reshape(tf.tanh(1.0 + lower * upper), (tf.shape(lower)[0], -1)), axis=1)
            total -= tf.reduce_mean(per_example)
            lower, upper = tf.nn.relu(lower), tf.nn.relu(upper)
    return total
