"""Distortion measures of a perturbation, per example.

The paper reports the per-pixel RMS distortion `sqrt(sum(r^2) / m)` (Szegedy et al. 2014, Tables 1
and 3; arXiv 1312.6199), m being the number of input values (784 for MNIST). L2 and Linf are kept
beside it.
"""

import numpy as np

DISTANCES = ("rms", "l2", "linf")


def distortions(x, x_adv):
    """RMS, L2 and Linf of `x_adv - x` per example, in float64.

    Args:
        x, x_adv: arrays of the same shape (n, ...).

    Returns:
        dict {"rms", "l2", "linf"} of float64 arrays (n,).
    """
    r = (np.asarray(x_adv, dtype=np.float64) - np.asarray(x, dtype=np.float64)).reshape(len(x), -1)
    l2 = np.sqrt(np.sum(np.square(r), axis=1))
    return {
        "rms": l2 / np.sqrt(max(r.shape[1], 1)),
        "l2": l2,
        "linf": np.max(np.abs(r), axis=1, initial=0.0),
    }
