"""The attack's models with a faster input gradient on CPU: same logits, same gradients up to rounding.

Every stage of the attack differentiates the model with respect to its input. On an MNIST conv net
TensorFlow's CPU kernel for the input gradient of the first convolution (`Conv2DBackpropInput` onto one
channel) took 25 µs per row at batch 50, a third of the whole value-and-gradient, while the same sum as a
depthwise convolution of the output gradient with the flipped kernel, summed over the output channels, took
10 µs (README, "The conv net's input gradient"). `fast_input_gradient_model` swaps in that gradient for every
`Conv2D` on one-channel inputs with unit strides and dilations; its forward pass is the layer's own convolution.
"""

import keras

from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()


def one_channel_conv2d(x, kernel, padding):
    """`tf.nn.conv2d(x, kernel, 1, padding)` of channels-last one-channel inputs, whose input gradient is
    a depthwise convolution summed over the output channels.

    Args:
        x: float (batch, height, width, 1).
        kernel: float (kh, kw, 1, filters).
        padding: "valid" or "same" (any case).

    Returns:
        float (batch, out_height, out_width, filters); its gradients with respect to x and kernel are those
        of `tf.nn.conv2d`.
    """
    padding = padding.upper()

    @tf.custom_gradient
    def convolve(x, kernel):
        outputs = tf.nn.conv2d(x, kernel, 1, padding)

        def gradient(upstream):
            # dx[j] = sum_u upstream[j + before - u] kernel[u]: a correlation with the flipped kernel of the
            # upstream gradient padded to the input's size plus the kernel's.
            pads = [[0, 0]]
            for axis in (1, 2):
                size, out_size, taps = x.shape[axis], upstream.shape[axis], kernel.shape[axis - 1]
                before = (taps - 1) // 2 if padding == "SAME" else 0
                pads.append([taps - 1 - before, size - out_size + before])
            flipped = tf.transpose(kernel[::-1, ::-1], (0, 1, 3, 2))  # (kh, kw, filters, 1)
            per_filter = tf.nn.depthwise_conv2d(tf.pad(upstream, pads + [[0, 0]]), flipped, (1, 1, 1, 1), "VALID")
            kernel_gradient = tf.compat.v1.nn.conv2d_backprop_filter(
                x, tf.shape(kernel), upstream, (1, 1, 1, 1), padding)
            return tf.reduce_sum(per_filter, axis=-1, keepdims=True), kernel_gradient

        return outputs, gradient

    return convolve(x, kernel)


class OneChannelConv2D(keras.layers.Layer):
    """A `Conv2D` layer of one input channel computed through `one_channel_conv2d`, with its variables."""

    def __init__(self, conv, **kwargs):
        super().__init__(name=f"{conv.name}_one_channel", **kwargs)
        self.conv = conv

    def call(self, inputs):
        conv = self.conv
        outputs = one_channel_conv2d(inputs, tf.convert_to_tensor(conv.kernel), conv.padding)
        if conv.use_bias:
            outputs = outputs + conv.bias
        return conv.activation(outputs)

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)


def has_one_channel_input(layer):
    """Whether `layer` is a plain channels-last `Conv2D` of one input channel, unit strides and dilations."""
    return (type(layer) is keras.layers.Conv2D and layer.data_format == "channels_last" and layer.groups == 1
            and tuple(layer.strides) == (1, 1) and tuple(layer.dilation_rate) == (1, 1)
            and int(layer.kernel.shape[2]) == 1 and not getattr(layer, "lora_enabled", False))


def all_layers(model):
    """Every layer of `model`, nested models' included."""
    pending, found = list(getattr(model, "layers", [])), []
    while pending:
        layer = pending.pop()
        found.append(layer)
        pending.extend(getattr(layer, "layers", []))
    return found


def fast_input_gradient_model(model):
    """`model` rebuilt on its own layers and variables, its one-channel `Conv2D` layers computed through
    `one_channel_conv2d`: the same logits, input gradients equal up to rounding. `model` itself where it
    has no such layer or is not a functional or sequential Keras model (those cannot be rebuilt)."""
    if not any(map(has_one_channel_input, all_layers(model))):
        return model
    try:
        return keras.models.clone_model(
            model, clone_function=lambda layer: OneChannelConv2D(layer) if has_one_channel_input(layer) else layer,
            recursive=True)
    except ValueError:  # a subclassed model: clone_model cannot rebuild it
        return model
