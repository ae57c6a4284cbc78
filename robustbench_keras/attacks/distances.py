"""Distortion measures of a perturbation, per example.

The paper reports the per-pixel RMS distortion `sqrt(sum(r^2) / m)` (Szegedy et al. 2014, Tables 1
and 3; arXiv 1312.6199), m being the number of input values (784 for MNIST). L2 and Linf are kept
beside it.
"""

import numpy as np


def _flatten(values):
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(len(values), int(np.prod(values.shape[1:])))


def per_pixel_rms(perturbations):
    """The per-pixel RMS `sqrt(sum(r^2) / m)` of each perturbation `r` of `perturbations` (n, ...).

    Returns:
        float64 (n,); m is the number of values of one perturbation.
    """
    flat = _flatten(perturbations)
    return np.sqrt(np.sum(np.square(flat), axis=1) / max(flat.shape[1], 1))


def distortions(x, x_adv):
    """RMS, L2 and Linf of `x_adv - x` per example, in float64.

    Args:
        x, x_adv: arrays of the same shape (n, ...).

    Returns:
        dict {"rms", "l2", "linf"} of float64 arrays (n,).
    """
    r = _flatten(np.asarray(x_adv, dtype=np.float64) - np.asarray(x, dtype=np.float64))
    return {
        "rms": per_pixel_rms(r),
        "l2": np.sqrt(np.sum(np.square(r), axis=1)),
        "linf": np.max(np.abs(r), axis=1, initial=0.0),
    }
