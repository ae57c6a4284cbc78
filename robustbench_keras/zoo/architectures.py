"""One builder per network of Szegedy et al. 2014 (arXiv 1312.6199, Tables 1 and 3), logits out.

Every model takes float32 images `(batch, 28, 28)` in [0, 1] and returns logits `(batch, 10)`: no
softmax layer, the loss applies it. Layers are named so later stages can find them: "flatten", the
hidden layers "hidden_1", "hidden_2", ... in input order, and "logits"; the conv net adds "channels",
"conv_1", "pool_1", "conv_2", "pool_2" (and "mask_1" after conv_1 in a randomly masked net); Xiao et al.'s
strided conv net has "channels", "conv_1", "conv_2" and no pooling. Weight decay is a Keras `L2` regulariser
on each kernel, with the factors the recipe gives (`Recipe.l2_factors`).
"""

from robustbench_keras.defenses.random_mask import RandomMask
from robustbench_keras.quiet import import_tensorflow
from robustbench_keras.zoo.specs import CONV_KERNEL_SIZE, IMAGE_SHAPE, NUM_CLASSES

import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's silenced import)


def _l2(factor):
    return keras.regularizers.L2(factor) if factor else None


def dense_net(name, hidden_units, l2_factors, activation="sigmoid", dropout=0.0):
    """A fully connected net: flatten, `len(hidden_units)` hidden layers, then 10 logits.

    With no hidden units it is softmax regression (FC10); the autoencoder classifier AE400-10 is
    `dense_net(name, (400,), ...)` whose "hidden_1" is pretrained (`zoo/training.py`).

    Args:
        name: the model's name (its zoo id).
        hidden_units: units per hidden layer, input side first, e.g. (100, 100).
        l2_factors: Keras `L2` factor per weight layer (hidden layers, then logits).
        activation: the hidden layers' activation.
        dropout: rate of a "dropout_<i>" layer after each hidden layer (active in training only); 0: none.

    Returns:
        An untrained `keras.Model`, float32 (batch, 28, 28) -> logits (batch, 10).
    """
    if len(l2_factors) != len(hidden_units) + 1:
        raise ValueError(f"{name}: expected {len(hidden_units) + 1} weight decays, got {l2_factors}")
    inputs = keras.Input(IMAGE_SHAPE, name="image")
    h = keras.layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate(hidden_units):
        h = keras.layers.Dense(units, activation, kernel_regularizer=_l2(l2_factors[i]), name=f"hidden_{i + 1}")(h)
        if dropout:
            h = keras.layers.Dropout(dropout, name=f"dropout_{i + 1}")(h)
    logits = keras.layers.Dense(NUM_CLASSES, kernel_regularizer=_l2(l2_factors[-1]), name="logits")(h)
    return keras.Model(inputs, logits, name=name)


def convnet(name, l2_factors, filters=(16, 32), kernel_size=CONV_KERNEL_SIZE, hidden_units=100, mask_ratio=0.0,
            mask_seed=0, downsample="pool"):
    """A small MNIST conv net: two 5x5 ReLU convolutions, each followed by a 2x2 downsampling, a dense ReLU
    layer, 10 logits.

    Args:
        name: the model's name (its zoo id).
        l2_factors: Keras `L2` factor per weight layer (conv_1, conv_2, hidden_1, logits).
        filters: channels of conv_1 and conv_2.
        kernel_size: side of the square convolution kernels.
        hidden_units: units of the dense ReLU layer "hidden_1".
        mask_ratio: share of conv_1's output units (after its ReLU) zeroed by a fixed `RandomMask` layer
            "mask_1"; 0 for none.
        mask_seed: seeds the choice of the masked units.
        downsample: "pool" ("valid" convolutions, each followed by a 2x2 max-pool "pool_<i>"), or "stride"
            (Xiao et al. 2019, arXiv 1809.03008: stride-2 "same" convolutions, 28x28 -> 14x14 -> 7x7, no
            pooling, so every layer is exactly verifiable, `verification/`).

    Returns:
        An untrained `keras.Model`, float32 (batch, 28, 28) -> logits (batch, 10).
    """
    if len(l2_factors) != 4:
        raise ValueError(f"{name}: expected 4 weight decays, got {l2_factors}")
    if downsample not in ("pool", "stride"):
        raise ValueError(f"{name}: downsample: expected 'pool' or 'stride', got {downsample!r}")
    strided = dict(strides=2, padding="same") if downsample == "stride" else {}
    inputs = keras.Input(IMAGE_SHAPE, name="image")
    h = keras.layers.Reshape(IMAGE_SHAPE + (1,), name="channels")(inputs)
    for i, num_filters in enumerate(filters):
        h = keras.layers.Conv2D(num_filters, kernel_size, **strided, activation="relu",
                                kernel_regularizer=_l2(l2_factors[i]), name=f"conv_{i + 1}")(h)
        if i == 0 and mask_ratio:
            h = RandomMask(mask_ratio, mask_seed, name="mask_1")(h)
        if downsample == "pool":
            h = keras.layers.MaxPooling2D(2, name=f"pool_{i + 1}")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dense(hidden_units, "relu", kernel_regularizer=_l2(l2_factors[2]), name="hidden_1")(h)
    logits = keras.layers.Dense(NUM_CLASSES, kernel_regularizer=_l2(l2_factors[3]), name="logits")(h)
    return keras.Model(inputs, logits, name=name)


def build(spec, l2_factors, seed, dropout=0.0):
    """The untrained network of a `ZooSpec`, its weights initialised from `seed` (dropout: dense nets)."""
    keras.utils.set_random_seed(seed)
    if spec.kind in ("conv", "strided_conv"):
        return convnet(spec.id, l2_factors, filters=spec.conv_filters, hidden_units=spec.hidden_units[0],
                       mask_ratio=spec.mask_ratio, mask_seed=spec.mask_seed,
                       downsample="stride" if spec.kind == "strided_conv" else "pool")
    activation = "relu" if spec.kind == "relu_dense" else "sigmoid"
    return dense_net(spec.id, spec.hidden_units, l2_factors, activation=activation, dropout=dropout)
