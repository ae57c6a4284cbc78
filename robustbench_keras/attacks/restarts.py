"""Two more starts of the polishing stages, in the basins that the c search and the DDN start miss.

On ReLU and conv nets the examples left above the peers' envelope after the DDN second start lie in
other basins (README, "The second start"): Carlini-Wagner finds them, whose tanh change of variables
scales each pixel's gradient by x(1 - x), so its steps favour the grey pixels at the edges of the
strokes, and whose nine binary-search steps restart from x. Both starts run DDN from the clean input
(`boundary_walk.ddn`, `num_restart_steps` steps), then a boundary step and a short boundary walk
(`num_restart_walk_steps`), and are kept where closer (`BatchSolver.polished`):

- the stroke start weights the margin gradient per pixel by `stroke_weights`, `floor + 4 b (1 - b)`
  of the clean input blurred by one pixel (b, largest 1 per row), so the steps follow the strokes' rims;
- the competitor start is driven by the margin against one class, `z_t - z_j` with j the strongest
  other class at the kept point, its gradient weighted by `4 x (1 - x)` of the unblurred input (floor
  0.1): where several classes tie at the kept point, the max-margin's gradient switches class at every
  step, while the fixed competitor's leads to the part of the boundary it shares with the target.
"""

from robustbench_keras.attacks import boundary_walk
from robustbench_keras.attacks.objective import target_margin
from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()

# The weights of each start (`stroke_weights`'s floor and blur), chosen on the peers' 100 examples (README).
STROKE_START = dict(floor=0.03, sigma=1.0)
COMPETITOR_START = dict(floor=0.1, sigma=0.0)


def stroke_weights(x, input_shape, floor, sigma):
    """Per-pixel factors `floor + 4 b (1 - b)`; (batch, m).

    b is x blurred (a Gaussian of `sigma` pixels over the first two axes of `input_shape`, per channel; no
    blur for sigma 0 or 1-D inputs) and scaled to a largest value of 1 per row: 1 + floor on the grey rim
    of the strokes, `floor` far from them and inside saturated ink.
    """
    if sigma > 0 and len(input_shape) >= 2:
        radius = int(4 * sigma + 0.5)
        taps = tf.exp(-0.5 * tf.square(tf.range(-radius, radius + 1, dtype=tf.float32) / sigma))
        taps /= tf.reduce_sum(taps)
        channels = 1
        for size in input_shape[2:]:
            channels *= size
        images = tf.reshape(x, (-1, input_shape[0], input_shape[1], channels))
        for kernel_shape in ((-1, 1, 1, 1), (1, -1, 1, 1)):
            kernel = tf.tile(tf.reshape(taps, kernel_shape), (1, 1, channels, 1))
            images = tf.nn.depthwise_conv2d(images, kernel, (1, 1, 1, 1), "SAME")
        x = tf.reshape(images, tf.shape(x))
    scaled = x / tf.maximum(tf.reduce_max(x, axis=-1, keepdims=True), 1e-12)
    return floor + 4.0 * scaled * (1.0 - scaled)


def strongest_competitor(logits, targets):
    """Per row the class other than the target with the largest logit; int32 (batch,)."""
    one_hot = tf.one_hot(targets, tf.shape(logits)[-1]) > 0
    return tf.argmax(tf.where(one_hot, -float("inf"), logits), axis=-1, output_type=tf.int32)


def competitor_drive(logits_of, targets, competitors):
    """`drive` for `boundary_walk.ddn`: per point (the target margin, `z_t - z_j` for the fixed competitors j)."""

    def drive(point):
        logits = logits_of(point)
        rival = tf.gather(logits, competitors, batch_dims=1)
        return target_margin(logits, targets), tf.gather(logits, targets, batch_dims=1) - rival

    return drive


def restart(margin, refine, x, x_adv, active, *, num_steps, num_walk_steps, walk_step, walk_gamma, success_margin,
            drive=None, weights=None):
    """DDN from x (`drive`, `weights` as `boundary_walk.ddn`'s), a boundary step (`refine`) of its closest
    adversarial, then a boundary walk of `num_walk_steps` from there; float32 (batch, m), adversarial where
    active (walked from x_adv where DDN found none).

    Args:
        margin: the target margin as a function of the points (batch, m) -> (batch,).
        refine: the boundary step, a function of the candidates (batch, m), adversarial where active.
        x, x_adv, active, success_margin: as `boundary_walk.walk`'s; x_adv is the fallback.
        num_steps, num_walk_steps: gradient evaluations of the DDN run and of the walk.
        walk_step, walk_gamma: the walk's, as `boundary_walk.walk`'s.
    """
    start = boundary_walk.ddn(margin, x, x_adv, active, num_steps=num_steps, success_margin=success_margin,
                              drive=drive, weights=weights)
    return boundary_walk.walk(margin, x, refine(start), active, num_steps=num_walk_steps, step=walk_step,
                              gamma=walk_gamma, success_margin=success_margin)
