"""Untargeted L∞ projected gradient descent (Madry et al. 2018, arXiv 1706.06083), as Xiao et al. 2019 train and evaluate with.

From a uniform random start in the ball, `num_steps` signed-gradient steps of `step_size` on the
cross-entropy of the true label, each projected back onto the L∞ ball of radius ε around x and onto [0, 1].
`perturb` is plain TensorFlow (usable inside a `tf.function` training step); `pgd_attack` runs it in
batches on NumPy arrays. PGD finds adversarial examples, so its error is an upper bound on robust error.
"""

import numpy as np

from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()


def perturb(model, x, y, epsilon, num_steps, step_size, start):
    """PGD examples for one batch.

    Args:
        model: keras.Model, logits out.
        x: float32 tensor (batch, ...) in [0, 1]; y: int labels (batch,).
        epsilon: the ball's L∞ radius (a scalar, may be a tensor).
        num_steps: gradient steps; step_size: each step's L∞ length.
        start: float32 like x in [-1, 1]: the random start is x + ε · start.

    Returns:
        float32 tensor like x, within ε of x (L∞) and inside [0, 1].
    """
    lower, upper = tf.maximum(x - epsilon, 0.0), tf.minimum(x + epsilon, 1.0)
    x_adv = tf.clip_by_value(x + epsilon * start, lower, upper)
    for _ in tf.range(num_steps):  # a graph loop under tf.function: tracing stays cheap for many steps
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x_adv, training=False)))
        x_adv = tf.clip_by_value(x_adv + step_size * tf.sign(tape.gradient(loss, x_adv)), lower, upper)
    return x_adv


def pgd_attack(model, x, y, epsilon, num_steps=40, step_size=None, seed=0, batch_size=500):
    """PGD examples for arrays, in batches (evaluation: 40 steps of ε/10 by default, as Xiao et al.).

    Args:
        model: keras.Model, logits out.
        x: float32 (N, ...) in [0, 1]; y: int (N,) true labels.
        epsilon: the ball's L∞ radius.
        num_steps: gradient steps per example.
        step_size: each step's L∞ length; None: ε / 10.
        seed: seeds the random starts.
        batch_size: examples per batch.

    Returns:
        float32 array like x, within ε of x and inside [0, 1].
    """
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
    step_size = epsilon / 10 if step_size is None else step_size
    start = np.random.default_rng(seed).uniform(-1.0, 1.0, x.shape).astype(np.float32)
    step = tf.function(lambda xb, yb, sb: perturb(model, xb, yb, epsilon, num_steps, step_size, sb))
    out = [step(x[i:i + batch_size], y[i:i + batch_size], start[i:i + batch_size]).numpy()
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else x.copy()
