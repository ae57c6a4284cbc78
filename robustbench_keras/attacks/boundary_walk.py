"""The boundary walk: a local decoupled-direction search from an adversarial, the attack's last stage.

On ReLU and max-pooling networks the decision boundary is piecewise smooth and the closest point of a
basin often sits on a kink, where the L-BFGS solves and the linearised projection steps stall (the
margin gradient there is not parallel to r). The walk moves like DDN (Rony et al. 2019, "Decoupling
Direction and Norm"; arXiv 1811.09600), started from the kept adversarial rather than from x: each
step adds a normalised margin-gradient step to r, then rescales r to a norm eps that shrinks by
`gamma` after an adversarial iterate and grows by `gamma` after a non-adversarial one, so the iterate
crosses the boundary back and forth while it slides toward x. Step sizes are fractions of the
starting distance with cosine decay, so the walk stays in the basin it starts in. The closest
adversarial iterate is kept; the walk never returns a farther point than its start. `ddn` runs the same
kind of steps from the clean input, with absolute lengths, as a second start in another basin.
"""

import math

from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()


def walk(margin, x, x_adv, active, *, num_steps, step, gamma, success_margin):
    """Walks from `x_adv` along the boundary; per row the closest adversarial iterate.

    Args:
        margin: differentiable function of float32 (batch, m) points returning the target margin
            (batch,); each step evaluates it and its gradient once.
        x: float32 (batch, m) clean rows; x_adv: float32 (batch, m) in the box, adversarial where
            `active` (bool (batch,)); other rows are returned unchanged.
        num_steps: margin-gradient evaluations (>= 0).
        step: the first step's length as a fraction of the starting distance (cosine decay to 1% of it).
        gamma: relative change of the norm eps per step (0 < gamma < 1).
        success_margin: an iterate is adversarial when its margin exceeds this.

    Returns:
        float32 (batch, m): per row the closest adversarial iterate, or x_adv where none was closer.
    """
    start = tf.norm(x_adv - x, axis=-1)
    best = x_adv
    best_norm = tf.where(active, start, -1.0)  # inactive rows can never improve
    epsilon = start
    delta = x_adv - x
    for k in tf.range(num_steps):
        decay = 0.01 + 0.99 * 0.5 * (1.0 + tf.cos(math.pi * tf.cast(k, tf.float32) / num_steps))
        with tf.GradientTape() as tape:
            point = x + delta
            tape.watch(point)
            value = margin(point)
        gradient = tape.gradient(value, point)
        norm = tf.norm(delta, axis=-1)
        adversarial = value > success_margin
        better = adversarial & (norm < best_norm)
        best = tf.where(better[:, None], x + delta, best)
        best_norm = tf.where(better, norm, best_norm)
        epsilon = tf.minimum(tf.where(adversarial, epsilon * (1.0 - gamma), epsilon * (1.0 + gamma)),
                             tf.abs(best_norm))
        length = step * decay * start / tf.maximum(tf.norm(gradient, axis=-1), 1e-12)
        delta = delta + length[:, None] * gradient
        delta = delta * (epsilon / tf.maximum(tf.norm(delta, axis=-1), 1e-12))[:, None]
        delta = tf.clip_by_value(x + delta, 0.0, 1.0) - x
    return best



def ddn(margin, x, x_adv, active, *, num_steps, success_margin, step=2.0, epsilon=1.0, gamma=0.1, drive=None,
        weights=None):
    """A second start: DDN (Rony et al. 2019) from the clean rows on the target margin; per row its closest
    adversarial iterate.

    The L-BFGS c search warm-starts every solve from the last success, so all its candidates lie in the
    basin its first success found; on ReLU and conv nets a closer basin is often elsewhere. DDN reaches
    the boundary from x by another path: normalised margin-gradient steps of length `step` (cosine decay
    to 1% of it), r rescaled to a norm that starts at `epsilon` and shrinks by `gamma` after an adversarial
    iterate and grows by `gamma` after another, never above the closest adversarial norm it has seen.
    Foolbox's DDN defaults for inputs in [0, 1] are step 1, epsilon 1, gamma 0.05; step 2 and gamma 0.1
    reach more basins on MNIST (README), and the boundary walk after it restores the precision.

    Args:
        margin, x, x_adv, active, success_margin: as `walk`'s (x_adv is only the fallback).
        num_steps: margin-gradient evaluations (>= 0).
        drive: a function of the points returning (the target margin, the margin whose gradient drives the
            steps), both from one forward pass, e.g. the margin against one fixed competitor class; it then
            replaces `margin`. Default: the target margin drives.
        weights: float32 (batch, m) per-coordinate factors of the driving gradient (default: none), so the
            steps favour some pixels.

    Returns:
        float32 (batch, m): per active row DDN's closest adversarial iterate (farther than x_adv or not);
        x_adv where it found none and on inactive rows.
    """
    best = x_adv
    best_norm = tf.where(active, float("inf"), -1.0)
    norm_goal = tf.fill(tf.shape(best_norm), epsilon)
    delta = tf.zeros_like(x)
    for k in tf.range(num_steps):
        decay = 0.01 + 0.99 * 0.5 * (1.0 + tf.cos(math.pi * tf.cast(k, tf.float32) / num_steps))
        with tf.GradientTape() as tape:
            point = x + delta
            tape.watch(point)
            value, driving = (margin(point),) * 2 if drive is None else drive(point)
        gradient = tape.gradient(driving, point)
        if weights is not None:
            gradient = gradient * weights
        norm = tf.norm(delta, axis=-1)
        adversarial = value > success_margin
        better = adversarial & (norm < best_norm)
        best = tf.where(better[:, None], point, best)
        best_norm = tf.where(better, norm, best_norm)
        norm_goal = tf.minimum(tf.where(adversarial, norm_goal * (1.0 - gamma), norm_goal * (1.0 + gamma)),
                               tf.abs(best_norm))
        delta = delta + (step * decay / tf.maximum(tf.norm(gradient, axis=-1), 1e-12))[:, None] * gradient
        delta = delta * (norm_goal / tf.maximum(tf.norm(delta, axis=-1), 1e-12))[:, None]
        delta = tf.clip_by_value(x + delta, 0.0, 1.0) - x
    return best
