"""How long a zoo model takes to train, relative to the others, from its spec and recipe alone (no Keras).

A model's cost is counted in multiply-adds: per epoch, every training example costs the forward
multiply-adds of the network (a dense layer's weights; a conv layer's weights times its output
positions), and every optimiser step adds a fixed overhead worth `STEP_OVERHEAD_MULTIPLY_ADDS` (Keras's
per-batch work, which dominates the small FC10 models). Measured on 2 CPU cores with Keras 3 on
TensorFlow 2.21, one step of batch 128 costs about as much as 1.6e7 multiply-adds of its examples.
Only ratios matter: `Progress(..., weights=...)` turns them into an ETA.
"""

import math

from robustbench_keras.zoo.specs import CONV_KERNEL_SIZE, IMAGE_SHAPE, NUM_CLASSES, get

STEP_OVERHEAD_MULTIPLY_ADDS = 1.6e7
SPLIT_SIZES = {"train": 60_000, "p1": 30_000, "p2": 30_000}  # MNIST's training set and its halves


def _dense(sizes):
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


def multiply_adds(model_id):
    """Forward multiply-adds of one example through the zoo model `model_id`."""
    spec = get(model_id)
    if spec.dimension:  # the spheres models: flat inputs, two logits
        return _dense((spec.dimension,) + spec.hidden_units + (2,))
    if spec.kind not in ("conv", "strided_conv"):
        return _dense((math.prod(IMAGE_SHAPE),) + spec.hidden_units + (NUM_CLASSES,))
    side, channels, total = IMAGE_SHAPE[0], 1, 0
    for filters in spec.conv_filters:
        # "valid" conv then a 2x2 pool, or a stride-2 "same" conv
        side = side - CONV_KERNEL_SIZE + 1 if spec.kind == "conv" else -(-side // 2)
        total += side * side * CONV_KERNEL_SIZE**2 * channels * filters
        side, channels = (side // 2 if spec.kind == "conv" else side), filters
    return total + _dense((side * side * channels,) + spec.hidden_units + (NUM_CLASSES,))


def training_cost(model_id, recipe=None):
    """The relative cost of training the zoo model `model_id` by `recipe` (default: its own).

    Returns:
        A positive float in multiply-adds (see the module docstring): comparable across zoo models,
        e.g. as `Progress` weights for a stage that trains several.
    """
    spec = get(model_id)
    recipe = recipe or spec.recipe
    if recipe.steps_per_epoch:  # fresh points every step
        steps = recipe.steps_per_epoch
        examples = steps * recipe.batch_size
    else:
        examples = SPLIT_SIZES[spec.train_split]
        steps = math.ceil(examples / recipe.batch_size)
    cost = recipe.epochs * (examples * multiply_adds(model_id) + steps * STEP_OVERHEAD_MULTIPLY_ADDS)
    if recipe.pretrain_epochs:  # the autoencoder: encoder and decoder of the first hidden layer
        autoencoder = 2 * math.prod(IMAGE_SHAPE) * spec.hidden_units[0]
        cost += recipe.pretrain_epochs * (examples * autoencoder + steps * STEP_OVERHEAD_MULTIPLY_ADDS)
    if recipe.pgd is not None:  # each PGD step is one more forward and backward pass per example
        cost *= 1 + recipe.pgd.num_steps
    return float(cost)
