"""Feature squeezers of Xu, Evans and Qi, NDSS 2018 (arXiv 1704.01155), as TensorFlow operations.

Each squeezer takes float32 images `(batch, height, width)` in [0, 1] (a NumPy array or a tensor) and
returns a tensor of the same shape. For MNIST the paper's joint detector uses `bit_depth(x, 1)` and
`median_filter(x, 2)`.

The median filter follows EvadeML-Zoo's NumPy squeezer, `scipy.ndimage.median_filter(x, size,
mode="reflect")`: for a k×k window the pixel sits at position k // 2 of it (so an even 2×2 window spans
the pixel, its upper and its left neighbours), borders repeat the edge pixels ("reflect" in SciPy,
"SYMMETRIC" in TensorFlow), and the value is the element of rank k² // 2 of the sorted window (for an
even window the upper of the two middle values, as SciPy's rank filter returns).
"""

from robustbench_keras.quiet import import_tensorflow

tf = import_tensorflow()


def bit_depth(x, bits):
    """Reduces each pixel to `bits` bits: round(x · (2^bits − 1)) / (2^bits − 1), halves to even.

    Args:
        x: float32 (batch, height, width) in [0, 1].
        bits: bits per pixel, >= 1 (1: binarise at 0.5).
    """
    if bits < 1:
        raise ValueError(f"bit_depth: expected bits >= 1, got {bits}")
    levels = float(2**bits - 1)
    return tf.round(tf.convert_to_tensor(x, tf.float32) * levels) / levels


def median_filter(x, size):
    """Median of each pixel's `size`×`size` window (see the module docstring for the window and borders).

    Args:
        x: float32 (batch, height, width) in [0, 1].
        size: side of the square window, >= 1.
    """
    if size < 1:
        raise ValueError(f"median_filter: expected size >= 1, got {size}")
    x = tf.convert_to_tensor(x, tf.float32)
    before, after = size // 2, size - 1 - size // 2
    padded = tf.pad(x, [[0, 0], [before, after], [before, after]], mode="SYMMETRIC")
    height, width = tf.shape(x)[1], tf.shape(x)[2]
    windows = [padded[:, i:i + height, j:j + width] for i in range(size) for j in range(size)]
    ranked = tf.sort(tf.stack(windows, axis=-1), axis=-1)
    return ranked[..., (size * size) // 2]


def squeezers(bits=1, median_size=2):
    """The joint detector's squeezers as {name: function of x}: the paper's MNIST pair by default.

    A value of 0 leaves that squeezer out.
    """
    chosen = {}
    if bits:
        chosen[f"bit_depth_{bits}"] = lambda x: bit_depth(x, bits)
    if median_size:
        chosen[f"median_{median_size}x{median_size}"] = lambda x: median_filter(x, median_size)
    return chosen
