"""Random Mask (Luo et al. 2019, "Random Mask: Towards Robust Convolutional Neural Networks", arXiv 1902.07384).

A fixed, randomly chosen share of the units of a convolutional feature map is set to zero: chosen once
at construction from a seed, never resampled (unlike dropout). The 0/1 mask is a non-trainable weight,
so it is saved with the model and loaded back as data.
"""

import numpy as np

from robustbench_keras.quiet import import_tensorflow

import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's silenced import)

REGISTERED_NAME = "robustbench_keras>RandomMask"


def mask_values(shape, ratio, seed):
    """The 0/1 float32 mask of `shape` with round(ratio · size) zeros at seeded positions."""
    size = int(np.prod(shape))
    zeros = np.random.default_rng(seed).choice(size, size=int(round(ratio * size)), replace=False)
    mask = np.ones(size, np.float32)
    mask[zeros] = 0.0
    return mask.reshape(shape)


@keras.saving.register_keras_serializable(package="robustbench_keras")
class RandomMask(keras.layers.Layer):
    """Multiplies its input (batch, *shape) by a fixed seeded 0/1 mask of `shape`.

    Args:
        ratio: share of the units masked to zero, in [0, 1).
        seed: seeds the choice of the masked units.
    """

    def __init__(self, ratio, seed=0, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= ratio < 1:
            raise ValueError(f"RandomMask '{self.name}': expected a ratio in [0, 1), got {ratio!r}")
        self.ratio, self.seed = float(ratio), int(seed)

    def build(self, input_shape):
        shape = tuple(input_shape[1:])
        self.mask = self.add_weight(name="mask", shape=shape, trainable=False,
                                    initializer=keras.initializers.Constant(mask_values(shape, self.ratio, self.seed)))

    def call(self, inputs):
        return inputs * self.mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "ratio": self.ratio, "seed": self.seed}
