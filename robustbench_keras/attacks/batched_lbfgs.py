"""L-BFGS over a batch of independent problems whose line searches do not wait for each other.

`tfp.optimizer.lbfgs_minimize` runs the Hager-Zhang line searches of a batch in lock-step: each
call of the objective evaluates every row, and an iteration lasts as many calls as its slowest row
needs. Measured on a 784-100-100-10 MLP: 2.5 calls per iteration at batch 1, 15.5 at batch 256, and
in this attack (measured at 6 c steps x 50 iterations, batch 64) 3,369 calls against 300 here for the same or
smaller distortions, so batching buys throughput per call and loses most of it again in calls. Here every call of the objective is one trial step for every row, and each row decides on
its own: a row whose trial passes the Armijo test accepts it, stores the curvature pair and takes
its next L-BFGS direction at unit step; a row whose trial fails backtracks (safeguarded quadratic
interpolation) and tries again at the next call. A row thus spends the calls a single problem would,
while the batch keeps the throughput of one batched call.

The curvature memory is per row, newest pair first (slot 0): a row pushes a pair in (dropping its oldest)
only when it stores one, so a row that backtracks keeps its pairs while others move on (with a buffer shared by the batch,
each rejected trial cost a row its oldest pair); pairs with `s.y <= 0` are never stored. Because the attack objective is `c ||r||^2 + loss`,
a change of c changes every stored `y = grad(r + s) - grad(r)` by exactly `2 (c_new - c_old) s`;
`shift_memory` applies that, so a warm-started solve keeps its memory across c steps.
"""

import collections

from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()

_ARMIJO = 1e-4
_SHRINK_MIN, _SHRINK_MAX = 0.1, 0.5
_MIN_STEP = 1e-12
_KEPT_CURVATURE = 0.25

Memory = collections.namedtuple("Memory", ["s", "y", "rho"])
Result = collections.namedtuple("Result", ["position", "value", "gradient", "memory", "num_evaluations"])


def empty_memory(batch_size, num_features, num_correction_pairs):
    """A memory with no pairs: s, y float32 (batch, pairs, m); rho (batch, pairs), 0 where a slot is empty."""
    shape = (batch_size, num_correction_pairs, num_features)
    return Memory(tf.zeros(shape), tf.zeros(shape), tf.zeros(shape[:2]))


def shift_memory(memory, delta_c):
    """Adapts stored pairs to a change of c (float32 (batch,)) in `c ||r||^2 + loss`.

    A pair whose curvature s.y falls below `_KEPT_CURVATURE` of what it was is dropped: it was
    mostly the penalty's, and the loss's remainder is too uncertain to steer by.
    """
    y = memory.y + 2.0 * delta_c[:, None, None] * memory.s
    sy = tf.reduce_sum(memory.s * y, axis=-1)
    valid = (memory.rho > 0) & (sy * memory.rho > _KEPT_CURVATURE)
    rho = tf.where(valid, 1.0 / tf.where(valid, sy, 1.0), 0.0)
    return memory._replace(y=y, rho=rho)


def _direction(gradient, memory):
    """The L-BFGS direction `-H g` per row (two-loop recursion, newest pair first)."""
    pairs = [(memory.s[:, age], memory.y[:, age], memory.rho[:, age]) for age in range(memory.rho.shape[1])]
    q = gradient
    alphas = []
    for s, y, rho in pairs:
        alpha = rho * tf.reduce_sum(s * q, axis=-1)
        q = q - alpha[:, None] * y
        alphas.append(alpha)
    s, y, rho = pairs[0]
    yy = tf.reduce_sum(y * y, axis=-1)
    # H0 = gamma I with gamma = s.y / y.y of the newest pair; identity when there is none.
    gamma = tf.where((rho > 0) & (yy > 0), 1.0 / tf.where(rho > 0, rho, 1.0) / tf.where(yy > 0, yy, 1.0), 1.0)
    z = gamma[:, None] * q
    for (s, y, rho), alpha in zip(reversed(pairs), reversed(alphas)):
        beta = rho * tf.reduce_sum(y * z, axis=-1)
        z = z + (alpha - beta)[:, None] * s
    return -z


def _first_step(gradient, memory):
    """Unit step after a curvature pair exists; otherwise a step of length 1 along -g."""
    has_pairs = tf.reduce_any(memory.rho > 0, axis=1)
    norm = tf.norm(gradient, axis=-1)
    return tf.where(has_pairs, 1.0, 1.0 / tf.maximum(norm, 1e-12))


def _store_pairs(memory, accept, s, y):
    """The memory with the curvature pair (s, y) of each accepted row whose s.y is clearly positive
    pushed in as its newest pair (its oldest dropped); other rows keep theirs."""
    sy = tf.reduce_sum(s * y, axis=-1)
    store = accept & (sy > 1e-10 * tf.norm(s, axis=-1) * tf.norm(y, axis=-1))

    def push(buffer, value):  # slot 0 is the newest pair: shift the others back by one where a row stores
        pushed = tf.concat([value[:, None], buffer[:, :-1]], axis=1)
        return tf.where(tf.reshape(store, (-1,) + (1,) * (len(buffer.shape) - 1)), pushed, buffer)

    return Memory(s=push(memory.s, s), y=push(memory.y, y), rho=push(memory.rho, 1.0 / tf.where(store, sy, 1.0)))


def _restart_stuck_rows(memory, direction, step, rejections, gradient, free, max_rejections):
    """Rows whose trials were rejected `max_rejections` times in a row (0: never) drop their memory and
    restart along -g: a stale memory can aim a row at steps it would spend its whole budget shrinking."""
    stuck = (rejections >= max_rejections) & (max_rejections > 0)
    projected = tf.where(free, gradient, 0.0)
    memory = memory._replace(rho=tf.where(stuck[:, None], 0.0, memory.rho))
    direction = tf.where(stuck[:, None], -projected, direction)
    step = tf.where(stuck, 1.0 / tf.maximum(tf.norm(projected, axis=-1), 1e-12), step)
    return memory, direction, step, tf.where(stuck, 0, rejections)


def _backtracked_step(value, trial_value, slope, step, finite):
    """The next trial step of a rejected row: the minimiser of the quadratic through value, slope and
    trial_value, kept within [_SHRINK_MIN, _SHRINK_MAX] x step."""
    curvature = trial_value - value - step * slope
    interpolated = -slope * step * step / (2.0 * tf.where(curvature > 0, curvature, 1.0))
    interpolated = tf.where(finite & (curvature > 0), interpolated, _SHRINK_MAX * step)
    return tf.clip_by_value(interpolated, _SHRINK_MIN * step, _SHRINK_MAX * step)


def _free(position, gradient, lower, upper):
    """Where a coordinate may move: everywhere but at a bound that the descent direction -g points past."""
    return ~(((position <= lower) & (gradient > 0)) | ((position >= upper) & (gradient < 0)))


def _projected_direction(gradient, memory, free):
    """The L-BFGS direction on the free coordinates; -g there when that is not a descent direction."""
    projected = tf.where(free, gradient, 0.0)
    direction = tf.where(free, _direction(projected, memory), 0.0)
    descent = tf.reduce_sum(direction * projected, axis=-1) < 0
    return tf.where(descent[:, None], direction, -projected), descent


def minimize(value_and_gradients, position, memory, *, max_evaluations, tolerance, f_relative_tolerance,
             lower=None, upper=None, max_rejections=0):
    """Minimises a batch of independent objectives over boxes, one trial step per row per call.

    Bounds are handled as in L-BFGS-B's simplest form (a projected L-BFGS): a coordinate at a bound
    whose gradient points outward is held there, the direction is the L-BFGS direction on the other
    coordinates, and every trial point is projected into the box.

    Args:
        value_and_gradients: function of float32 (batch, m) returning value (batch,) and gradient
            (batch, m); every call evaluates every row.
        position: float32 (batch, m), the starting points, inside the box.
        memory: `Memory` to start from (`empty_memory` or a shifted earlier one).
        max_evaluations: calls of `value_and_gradients`, the first at `position` included.
        tolerance: a row stops when its projected gradient's max-norm falls to this.
        f_relative_tolerance: a row stops when an accepted step changes its objective by at most
            this fraction.
        lower, upper: float32 (batch, m) bounds of the box; None: unbounded.
        max_rejections: a row whose trials are rejected this many times in a row restarts from
            steepest descent with no memory (0: never).

    Returns:
        `Result`: position, value, gradient (of the best accepted point per row), the final
        memory and the number of calls made (a scalar).
    """
    lower = tf.zeros_like(position) - float("inf") if lower is None else lower
    upper = tf.zeros_like(position) + float("inf") if upper is None else upper
    value, gradient = value_and_gradients(position)
    free = _free(position, gradient, lower, upper)
    direction, _ = _projected_direction(gradient, memory, free)
    step = _first_step(gradient, memory)
    active = tf.reduce_max(tf.abs(tf.where(free, gradient, 0.0)), axis=-1) > tolerance

    def body(i, position, value, gradient, direction, step, memory, active, rejections):
        trial = tf.clip_by_value(position + step[:, None] * direction, lower, upper)
        trial_value, trial_gradient = value_and_gradients(trial)
        decrease = tf.reduce_sum(gradient * (trial - position), axis=-1)
        finite = tf.math.is_finite(trial_value) & tf.reduce_all(tf.math.is_finite(trial_gradient), axis=-1)
        accept = active & finite & (trial_value <= value + _ARMIJO * decrease)
        shrunk = _backtracked_step(value, trial_value, decrease / step, step, finite)

        memory = _store_pairs(memory, accept, trial - position, trial_gradient - gradient)

        change = tf.abs(value - trial_value)
        trial_free = _free(trial, trial_gradient, lower, upper)
        done = accept & ((tf.reduce_max(tf.abs(tf.where(trial_free, trial_gradient, 0.0)), axis=-1) <= tolerance)
                         | (change <= f_relative_tolerance * tf.abs(value)))
        position = tf.where(accept[:, None], trial, position)
        value = tf.where(accept, trial_value, value)
        gradient = tf.where(accept[:, None], trial_gradient, gradient)

        # A direction that is not a descent direction (memory gone stale) falls back to -g.
        free = _free(position, gradient, lower, upper)
        new_direction, descent = _projected_direction(gradient, memory, free)
        accepted_step = tf.where(descent, _first_step(gradient, memory), 1.0 / tf.maximum(tf.norm(gradient, axis=-1), 1e-12))

        direction = tf.where(accept[:, None], new_direction, direction)
        step = tf.where(accept, accepted_step, shrunk)
        memory, direction, step, rejections = _restart_stuck_rows(
            memory, direction, step, tf.where(accept, 0, rejections + 1), gradient, free, max_rejections)
        stalled = ~accept & (step * tf.norm(direction, axis=-1) < _MIN_STEP * (1.0 + tf.norm(position, axis=-1)))
        active = active & ~done & ~stalled
        return i + 1, position, value, gradient, direction, step, memory, active, rejections

    def keep_going(i, *state):
        return (i < max_evaluations - 1) & tf.reduce_any(state[-2])

    num_calls, position, value, gradient, _, _, memory, _, _ = tf.while_loop(
        keep_going, body, (tf.constant(0), position, value, gradient, direction, step, memory, active,
                           tf.zeros(tf.shape(memory.rho)[:1], tf.int32)))
    return Result(position, value, gradient, memory, num_calls + 1)
