"""The AlexNet of Table 5 (Krizhevsky et al. 2012), as bounded in Szegedy et al. 2014 (arXiv 1312.6199).

Layer sizes as in Table 5: Conv1 3x11x11x96 stride 4, Conv2 96x5x5x256, Conv3 256x3x3x384,
Conv4 384x3x3x384, Conv5 384x3x3x256, FC1 9216x4096, FC2 4096x4096, FC3 4096x1000 (logits), with
ReLU, contrast normalisation after Conv1 and Conv2, and 3 x 3 max-pooling at stride 2 after Conv1, Conv2
and Conv5, on 227 x 227 x 3 inputs. Conv2, Conv4 and Conv5 are fully connected across channels, as
Table 5 lists them (the original split them in two groups for two GPUs).

No pretrained weights can be downloaded here: `build_alexnet` loads a Keras weights file if given,
else returns a seeded Glorot-uniform initialisation.
"""

import os

from robustbench_keras.errors import ModelError
from robustbench_keras.quiet import import_tensorflow

import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's silenced import)

INPUT_SHAPE = (227, 227, 3)
NUM_CLASSES = 1000


@keras.saving.register_keras_serializable(package="robustbench_keras")
class ContrastNormalization(keras.layers.Layer):
    """`x / (epsilon + alpha ||x||^2)^gamma`, with `||x||` over the channels at each position.

    The paper's form of AlexNet's local response normalisation (AlexNet used a 5-channel window;
    these defaults are its k = 2, alpha = 1e-4, beta = 0.75). Its Jacobian is `(epsilon + alpha
    ||x||^2)^-gamma (I - 2 gamma alpha x x^T / (epsilon + alpha ||x||^2))`, so for `0 <= gamma <= 1` the
    layer is `epsilon^-gamma`-Lipschitz, attained at `x = 0`.

    Args:
        epsilon: positive offset.
        alpha: non-negative weight of the squared norm.
        gamma: exponent in [0, 1].
    """

    def __init__(self, epsilon=2.0, alpha=1e-4, gamma=0.75, **kwargs):
        super().__init__(**kwargs)
        if not (epsilon > 0 and alpha >= 0 and 0 <= gamma <= 1):
            raise ModelError(
                f"ContrastNormalization '{self.name}': expected epsilon > 0, alpha >= 0 and gamma in [0, 1], "
                f"got epsilon={epsilon!r}, alpha={alpha!r}, gamma={gamma!r}"
            )
        self.epsilon, self.alpha, self.gamma = float(epsilon), float(alpha), float(gamma)

    def call(self, inputs):
        squared_norm = keras.ops.sum(keras.ops.square(inputs), axis=-1, keepdims=True)
        return inputs * keras.ops.power(self.epsilon + self.alpha * squared_norm, -self.gamma)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "alpha": self.alpha, "gamma": self.gamma}


def build_alexnet(weights_path=None, seed=0):
    """The AlexNet of Table 5, logits out.

    Args:
        weights_path: a Keras weights file (`.weights.h5`, e.g. from `model.save_weights`) or None.
        seed: seed of the Glorot-uniform kernels (one derived seed per layer) when no file is given.

    Returns:
        keras.Model: float32 (N, 227, 227, 3) -> logits (N, 1000).

    Raises:
        ModelError: the weights file is missing or does not fit this architecture.
    """

    def conv(filters, size, name, index, strides=1, padding="same"):
        return keras.layers.Conv2D(
            filters, size, strides=strides, padding=padding, activation="relu", name=name,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + index),
        )

    def dense(units, name, index, activation="relu"):
        return keras.layers.Dense(
            units, activation=activation, name=name,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + index),
        )

    model = keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="image"),
            conv(96, 11, "conv1", 1, strides=4, padding="valid"),
            ContrastNormalization(name="norm1"),
            keras.layers.MaxPooling2D(3, strides=2, name="pool1"),
            conv(256, 5, "conv2", 2),
            ContrastNormalization(name="norm2"),
            keras.layers.MaxPooling2D(3, strides=2, name="pool2"),
            conv(384, 3, "conv3", 3),
            conv(384, 3, "conv4", 4),
            conv(256, 3, "conv5", 5),
            keras.layers.MaxPooling2D(3, strides=2, name="pool5"),
            keras.layers.Flatten(name="flatten"),
            dense(4096, "fc1", 6),
            keras.layers.Dropout(0.5, name="dropout1"),
            dense(4096, "fc2", 7),
            keras.layers.Dropout(0.5, name="dropout2"),
            dense(NUM_CLASSES, "fc3", 8, activation=None),
        ],
        name="alexnet",
    )
    if weights_path is not None:
        _load_weights(model, os.fspath(weights_path))
    return model


def _load_weights(model, path):
    if not os.path.isfile(path):
        raise ModelError(f"{path}: AlexNet weights file not found; pass a .weights.h5 saved from build_alexnet()")
    try:
        model.load_weights(path)
    except ValueError as error:
        first_line = str(error).strip().splitlines()[0]
        raise ModelError(f"{path}: does not fit the AlexNet of Table 5 ({first_line}); save it from build_alexnet()")
