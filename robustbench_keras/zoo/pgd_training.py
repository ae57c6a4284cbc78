"""PGD adversarial training with L1 and ReLU-stability terms (Xiao et al. 2019, arXiv 1809.03008, Section 5).

Each step attacks the batch with PGD (`attacks/pgd.py`, radius ramped by `PGDTraining.attack_epsilon`),
then takes one optimiser step on the cross-entropy of the PGD examples, the layers' L2 penalties,
`l1_weight` · L1 and `rs_weight` · RS (`verification.rs_loss`, over the ball of radius ε around the clean
batch). The random starts come from a NumPy generator seeded by `seed`, so a run is repeatable.
"""

import math
import time

import numpy as np

from robustbench_keras.attacks.pgd import perturb
from robustbench_keras.evaluation import error_rate
from robustbench_keras.progress import Progress
from robustbench_keras.quiet import import_tensorflow
from robustbench_keras.verification.rs_loss import relu_stability_loss
from robustbench_keras.zoo.training import optimizer

tf = import_tensorflow()
import keras  # noqa: E402  (after TensorFlow's silenced import)


def l1_penalty(model):
    """Σ |w| over the kernels of the layers with a ReLU, a conv kernel counted once per output position."""
    total = 0.0
    for layer in model.layers:
        if getattr(layer, "activation", None) is keras.activations.relu:
            positions = math.prod(layer.output.shape[1:-1]) if isinstance(layer, keras.layers.Conv2D) else 1
            total += positions * tf.reduce_sum(tf.abs(layer.kernel))
    return total


def _train_step(model, settings, opt):
    @tf.function
    def step(x, y, start, epsilon):
        x_adv = perturb(model, x, y, epsilon, settings.num_steps, settings.step_size, start)
        with tf.GradientTape() as tape:
            logits = model(x_adv, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
            loss += sum(model.losses)
            if settings.l1_weight:
                loss += settings.l1_weight * l1_penalty(model)
            if settings.rs_weight:
                loss += settings.rs_weight * relu_stability_loss(model, x, settings.epsilon)
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss
    return step


def train(model, recipe, x, y, seed=0, progress=True, x_test=None, y_test=None):
    """Trains `model` in place by `recipe` (whose `pgd` is set) on images x with labels y.

    Args:
        model: a zoo model of Dense/Conv2D ReLU layers (`zoo.build`), logits out.
        recipe: its `Recipe` with `pgd` settings.
        x: float32 (N, 28, 28) in [0, 1]; y: int (N,) labels.
        seed: seeds Keras, the shuffling and the PGD random starts.
        progress: one progress line per epoch on stderr.
        x_test, y_test: if given, the clean test error is recorded after every epoch.

    Returns:
        A JSON-able dict: "history" (per epoch: epoch, loss (mean over its steps), attack_epsilon (at its
        end), test_error).
    """
    keras.utils.set_random_seed(seed)
    settings, rng = recipe.pgd, np.random.default_rng(seed)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
    steps_per_epoch = -(-len(x) // recipe.batch_size)
    num_steps = recipe.epochs * steps_per_epoch
    step = _train_step(model, settings, optimizer(recipe, recipe.learning_rate, num_steps))
    history, index = [], 0
    with Progress(f"PGD training {model.name}", total=recipe.epochs, unit="epoch", enabled=progress) as bar:
        for epoch in range(recipe.epochs):
            order, losses, started = rng.permutation(len(x)), [], time.perf_counter()
            for i in range(0, len(x), recipe.batch_size):
                batch = order[i:i + recipe.batch_size]
                start = rng.uniform(-1.0, 1.0, x[batch].shape).astype(np.float32)
                epsilon = np.float32(settings.attack_epsilon(index, num_steps))
                losses.append(float(step(x[batch], y[batch], start, epsilon)))
                index += 1
            row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "attack_epsilon": float(epsilon),
                   "time_s": time.perf_counter() - started,
                   "test_error": error_rate(model, x_test, y_test) if x_test is not None else None}
            history.append(row)
            bar.update(1, info=f"loss {row['loss']:.4f}")
    return {"history": history}
