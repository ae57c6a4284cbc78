"""The faster input gradient of one-channel convolutions, against TensorFlow's own convolution gradients."""

import keras
import numpy as np
import pytest

from robustbench_keras.attacks.input_gradients import fast_input_gradient_model, one_channel_conv2d
from robustbench_keras.quiet import import_tensorflow
from robustbench_keras.zoo.architectures import convnet, dense_net

tf = import_tensorflow()


def gradients(convolve, x, kernel, upstream):
    """The outputs of `convolve(x, kernel)` and the gradients of `sum(outputs * upstream)` for x and kernel."""
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        outputs = convolve(x, kernel)
        value = tf.reduce_sum(outputs * upstream)
    return (outputs,) + tuple(tape.gradient(value, [x, kernel]))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kernel_shape", [(5, 5), (4, 3), (1, 2)])
def test_one_channel_conv2d_matches_tensorflows_convolution_and_its_gradients(padding, kernel_shape):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3, 9, 11, 1)).astype(np.float32))
    kernel = tf.constant(rng.normal(size=kernel_shape + (1, 6)).astype(np.float32))
    reference = tf.nn.conv2d(x, kernel, 1, padding.upper())
    upstream = tf.constant(rng.normal(size=reference.shape).astype(np.float32))
    ours = gradients(lambda x, k: one_channel_conv2d(x, k, padding), x, kernel, upstream)
    theirs = gradients(lambda x, k: tf.nn.conv2d(x, k, 1, padding.upper()), x, kernel, upstream)
    for mine, expected in zip(ours, theirs):
        assert mine.shape == expected.shape
        np.testing.assert_allclose(mine.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def margin_and_gradient(model, x, target):
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = model(x, training=False)
        margin = logits[:, target] - tf.reduce_max(tf.concat([logits[:, :target], logits[:, target + 1:]], 1), 1)
    return logits.numpy(), tape.gradient(margin, x).numpy()


def test_the_conv_nets_first_layer_is_swapped_and_the_model_keeps_its_logits_gradients_and_variables():
    keras.utils.set_random_seed(0)
    model = convnet("tiny_convnet", (0.0,) * 4, filters=(4, 8), hidden_units=16)
    fast = fast_input_gradient_model(model)
    assert [type(layer).__name__ for layer in fast.layers if "conv" in layer.name] == ["OneChannelConv2D", "Conv2D"]
    x = tf.constant(np.random.default_rng(1).uniform(size=(5, 28, 28)).astype(np.float32))
    for ours, theirs in zip(margin_and_gradient(fast, x, 3), margin_and_gradient(model, x, 3)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    # The swapped layer reads the model's own variables: a change of the model shows in the fast model.
    conv = model.get_layer("conv_1")
    conv.kernel.assign(2.0 * conv.kernel)
    np.testing.assert_allclose(fast(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    assert model.get_layer("conv_1") is conv and type(conv) is keras.layers.Conv2D


def test_models_without_a_one_channel_convolution_are_used_as_they_are():
    strided = convnet("strided", (0.0,) * 4, filters=(4, 8), hidden_units=16, downsample="stride")
    dense = dense_net("dense", (8,), (0.0, 0.0))

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(2, 3)
            self.head = keras.layers.Dense(10)

        def call(self, x):
            return self.head(keras.layers.Flatten()(self.conv(x[..., None])))

    subclassed = Subclassed()
    subclassed(tf.zeros((1, 28, 28)))
    for model in (strided, dense, subclassed):
        assert fast_input_gradient_model(model) is model
