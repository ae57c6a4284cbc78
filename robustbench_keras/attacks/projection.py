"""The point of the box closest to x inside a polyhedron, the target of the attack's projection steps."""

from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()


def polyhedron_projection(x, normals, offsets, sweeps=4, iterations=24):
    """Approximately the point of [0, 1]^m closest to x with `normals_j . q >= offsets_j` for all j, per row.

    Coordinate ascent on the dual: q = clip(x + sum_j lam_j normals_j, 0, 1) with lam >= 0, each lam_j in
    turn set to the smallest value meeting its own constraint (0 when already met), found by bisection
    as `normals_j . q` grows monotonically with it (no model calls).

    Args:
        x: float32 (batch, m); normals: (batch, k, m); offsets: (batch, k).
        sweeps: rounds over the k constraints; iterations: widening and bisection steps of each lam_j.
    """
    k = normals.shape[1]
    lam = tf.zeros(tf.shape(offsets))
    for _ in range(sweeps):
        for j in range(k):
            others = tf.where(tf.range(k)[None, :] == j, 0.0, lam)
            base = x + tf.einsum("bk,bkm->bm", others, normals)
            normal, offset = normals[:, j], offsets[:, j]
            reach = lambda value: tf.reduce_sum(normal * tf.clip_by_value(base + value[:, None] * normal, 0.0, 1.0), -1)
            gap = offset - reach(tf.zeros_like(offset))
            high = tf.maximum(gap, 0.0) / tf.maximum(tf.reduce_sum(tf.square(normal), axis=-1), 1e-30)
            high = _widened(reach, offset, high, iterations)
            low = tf.zeros_like(high)
            for _ in tf.range(iterations):
                middle = 0.5 * (low + high)
                short = reach(middle) < offset
                low = tf.where(short, middle, low)
                high = tf.where(short, high, middle)
            lam = tf.where(tf.range(k)[None, :] == j, tf.where(gap > 0, high, 0.0)[:, None], lam)
    return tf.clip_by_value(x + tf.einsum("bk,bkm->bm", lam, normals), 0.0, 1.0)


def _widened(reach, offset, high, iterations):
    """`high` doubled per row until `reach(high) >= offset`, at most `iterations` times; the loop ends as
    soon as every row meets it (usually after a few doublings: `high` starts at the unclipped solution)."""
    def keep_going(i, high, short):
        return (i < iterations) & tf.reduce_any(short)

    def body(i, high, short):
        high = tf.where(short, 2.0 * high, high)
        return i + 1, high, reach(high) < offset

    return tf.while_loop(keep_going, body, (tf.constant(0), high, reach(high) < offset))[1]
