"""Operator norms of strided 2-D convolutions from the kernel's Fourier transform (Table 5's conv rows).

Szegedy et al. 2014 (arXiv 1312.6199), Section 4.3. A convolution with kernel `w` (`kh, kw, C, D`) and
strides `(s1, s2)` maps, in the Fourier domain, the `C * s1 * s2` input coefficients that alias onto one
output frequency to `D` output coefficients through the matrix

    B(xi) = [ w_hat(xi + 2 pi l / s) for l in Z_s1 x Z_s2 ]   (D x C s1 s2),

so its operator norm on an `M x M` torus (`s` dividing `M`) is exactly `max ||B(xi)|| / sqrt(s1 s2)` over
the `(M/s)^2` grid frequencies, and the supremum over all real `xi` bounds it for every input size and
for zero padding ('valid', 'same'), which restricts a circular convolution on a larger torus.

The paper scales `B` by `s^-2`; Parseval's identity on the subsampled grid gives `1/sqrt(s1 s2)` instead
(a pure subsampling, `w = 1`, `s = 2`, has norm 1 and `||B|| = 2`), and the brute-force tests confirm it.

The supremum is certified rather than sampled. With centred kernel indices every entry of `B` is a
trigonometric sum of frequencies at most `sigma_i = (k_i - 1) / 2` along axis `i`. Let `S = ||B(xi*)||`
be the supremum and `u, v` unit vectors with `Re u^H B(xi*) v = S`; `g = Re u^H B v` is bounded by `S`
and maximal at `xi*`, so its gradient vanishes there, and Bernstein's inequality (twice, along the line
from `xi*`) gives `g(xi* + t) >= S (1 - (sigma_1 |t_1| + sigma_2 |t_2|)^2 / 2)`. Only that weighted L1
distance matters, so the cells are its balls: rhombi `|t_1| / h_1 + |t_2| / h_2 <= 1` around a centre,
on which it is at most `rho = max(sigma_1 h_1, sigma_2 h_2)`. They tile the plane (centres `(i h_1, j h_2)`
with `i + j` even) and hold twice the area of squares with the same `rho`. For the cell that contains `xi*`,
`S <= ||B(centre)|| / (1 - rho^2 / 2)`. Cells are split into four half-size rhombi until no cell can hide a
value more than `tolerance` above the best frequency evaluated. A child is first closed, if it can be, by a
Cholesky factorisation proving its bound below `lower * (1 + tolerance / 2)` (a sixth of an eigensolver's
cost); only the others get their exact norm.
"""

import dataclasses

import numpy as np
import scipy.linalg.lapack

# Memory per batch of frequencies for the Gram matrices H(xi), (batch, n, n) complex128.
_BATCH_BYTES = 64 * 2**20
# Coarsest cells allowed: rho = max_i sigma_i h_i at most this, so the first bounds are finite and useful.
_MAX_INITIAL_SIGMA_R = 0.5


@dataclasses.dataclass(frozen=True)
class ConvBound:
    """A certified bound on a convolution's operator norm.

    Attributes:
        upper: a true upper bound on the supremum over all frequencies (the layer's bound).
        lower: the largest norm at an evaluated frequency, a lower bound on that supremum.
        num_frequencies: how many frequencies were evaluated (exactly, or by the Cholesky proof).
    """

    upper: float
    lower: float
    num_frequencies: int


def gram_coefficients(kernel, strides):
    """Fourier coefficients of `H(xi) = B(xi) B(xi)^H / (s1 s2)`, whose largest eigenvalue is the norm squared.

    `B B^H` sums `w_hat(omega) w_hat(omega)^H = sum_m R_m exp(-i omega . m)` over the aliases, which keeps
    exactly the lags `m` that are multiples of the strides (times `s1 s2`), so `H(xi) = sum R_m exp(-i xi . m)`
    with `R_m = sum_k w(k + m)^T w(k)` (`D x D`). At stride 1 the adjoint convolution, with `C` and `D`
    swapped, has the same `||B(xi)||`; it is used when `C < D` to keep `H` small.

    Args:
        kernel: real array (kh, kw, C, D), Keras Conv2D layout.
        strides: (s1, s2) positive ints.

    Returns:
        (lags, coefficients): int array (M, 2) and float64 array (M, n, n), `n` = D, or min(C, D) at stride 1.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if tuple(strides) == (1, 1) and kernel.shape[2] < kernel.shape[3]:
        kernel = kernel.transpose(0, 1, 3, 2)
    kh, kw, _, d = kernel.shape
    # Lags |m| < k that are multiples of the stride, along each axis.
    lags_1, lags_2 = (np.arange(-((k - 1) // s) * s, k, s) for k, s in ((kh, strides[0]), (kw, strides[1])))
    lags = np.stack(np.meshgrid(lags_1, lags_2, indexing="ij"), -1).reshape(-1, 2)
    coefficients = np.empty((len(lags), d, d))
    for index, (m1, m2) in enumerate(lags):
        shifted = kernel[max(m1, 0) : kh + min(m1, 0), max(m2, 0) : kw + min(m2, 0)].reshape(-1, d)
        base = kernel[max(-m1, 0) : kh - max(m1, 0), max(-m2, 0) : kw - max(m2, 0)].reshape(-1, d)
        coefficients[index] = shifted.T @ base
    return lags, coefficients


def frequency_norms(kernel, strides, frequencies):
    """Norms `||B(xi)|| / sqrt(s1 s2)` at given frequencies.

    Args:
        kernel: real array (kh, kw, C, D), Keras Conv2D layout.
        strides: (s1, s2) positive ints.
        frequencies: float array (P, 2), radians per input pixel.

    Returns:
        float64 array (P,).
    """
    lags, coefficients = gram_coefficients(kernel, strides)
    return _norms_from_gram(lags, coefficients, np.asarray(frequencies, dtype=np.float64))


def _norms_from_gram(lags, coefficients, frequencies):
    num_lags, n, _ = coefficients.shape
    flat = coefficients.reshape(num_lags, n * n).astype(np.complex128)
    batch = max(1, _BATCH_BYTES // (16 * n * n))
    norms = np.empty(len(frequencies))
    for start in range(0, len(frequencies), batch):
        phases = np.exp(-1j * (frequencies[start : start + batch] @ lags.T))  # (batch, M)
        gram = (phases @ flat).reshape(-1, n, n)
        largest = np.linalg.eigvalsh(gram)[:, -1]
        norms[start : start + len(gram)] = np.sqrt(np.maximum(largest, 0.0))
    return norms


def _norms_at_most(lags, coefficients, frequencies, limit):
    """Whether `||B(xi)|| / sqrt(s1 s2) <= limit` is proven at each frequency, by a Cholesky factorisation.

    `mu I - H(xi)` factorises only if it is positive semi-definite up to rounding; the backward error of a
    successful factorisation is at most `(n + 1) eps trace <= (n + 1) n eps mu` in norm (H is positive
    semi-definite), so factorising with `mu` lowered by twice that proves `lambda_max(H) <= limit^2` (rounding
    in forming `H` is neglected, as for the eigensolver).

    Returns:
        bool array (P,).
    """
    num_lags, n, _ = coefficients.shape
    flat = coefficients.reshape(num_lags, n * n).astype(np.complex128)
    mu = limit**2 * (1 - 2 * (n + 1) * n * np.finfo(np.float64).eps)
    proven = np.zeros(len(frequencies), dtype=bool)
    batch = max(1, _BATCH_BYTES // (16 * n * n))
    for start in range(0, len(frequencies), batch):
        phases = np.exp(-1j * (frequencies[start : start + batch] @ lags.T))
        for offset, gram in enumerate((phases @ -flat).reshape(-1, n, n)):
            gram[np.diag_indices(n)] += mu
            proven[start + offset] = scipy.linalg.lapack.zpotrf(gram, lower=True, overwrite_a=True)[1] == 0
    return proven


def circular_norm(kernel, strides, size):
    """Exact operator norm of the circular strided cross-correlation on a `size x size` torus.

    Args:
        kernel: real array (kh, kw, C, D).
        strides: (s1, s2), each dividing `size`.
        size: torus side in pixels.

    Returns:
        float, the largest singular value of the layer's linear map.
    """
    s1, s2 = strides
    if size % s1 or size % s2:
        raise ValueError(f"strides {strides} must divide the torus size {size}")
    grid = np.stack(
        np.meshgrid(2 * np.pi * np.arange(size // s1) / size, 2 * np.pi * np.arange(size // s2) / size, indexing="ij"),
        -1,
    ).reshape(-1, 2)
    return float(frequency_norms(kernel, strides, grid).max())


def conv_bound(kernel, strides=(1, 1), tolerance=1e-2, initial_grid=16):
    """Certified supremum over all frequencies of the strided convolution's Fourier block norm.

    Args:
        kernel: real array (kh, kw, C, D), Keras Conv2D layout (dilations already expanded).
        strides: (s1, s2) positive ints.
        tolerance: refine until `upper <= lower * (1 + tolerance)`.
        initial_grid: least number of lattice steps per axis of the first grid (more if the kernel needs it).

    Returns:
        ConvBound: `upper` bounds the layer's norm for any input size and zero or circular padding.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    strides = np.array(strides)
    lags, coefficients = gram_coefficients(kernel, strides)
    # Exponential types along each axis: of B's entries, and of H's (lags that survive the aliasing).
    sigma_b = (np.array(kernel.shape[:2]) - 1) / 2
    sigma_h = np.abs(lags).max(axis=0).astype(np.float64)
    period = 2 * np.pi / strides
    # 2 N_i lattice steps of h_i = period_i / (2 N_i) along axis i, with sigma_b_i h_i <= _MAX_INITIAL_SIGMA_R.
    half_steps = np.maximum(-(-initial_grid // 2), np.ceil(sigma_b * period / (2 * _MAX_INITIAL_SIGMA_R))).astype(int)
    half_diagonals = period / (2 * half_steps)
    grid = np.stack(np.meshgrid(np.arange(2 * half_steps[0]), np.arange(2 * half_steps[1]), indexing="ij"), -1)
    index = grid.reshape(-1, 2)
    index = index[index.sum(axis=1) % 2 == 0]
    # A real kernel gives ||B(-xi)|| = ||B(xi)||, and the lattice is symmetric: keep one cell of each mirror pair.
    mirror = (-index) % (2 * half_steps)
    keep = (index[:, 0] < mirror[:, 0]) | ((index[:, 0] == mirror[:, 0]) & (index[:, 1] <= mirror[:, 1]))
    centres = index[keep] * half_diagonals
    values = _norms_from_gram(lags, coefficients, centres)
    num_frequencies = len(centres)
    lower, settled_upper = float(values.max()), 0.0
    while True:
        upper_per_cell = values * _cell_factor(sigma_b, sigma_h, half_diagonals)
        open_cells = upper_per_cell > lower * (1 + tolerance)
        settled_upper = max(settled_upper, float(upper_per_cell[~open_cells].max(initial=0.0)))
        if not open_cells.any():
            return ConvBound(upper=max(settled_upper, lower), lower=lower, num_frequencies=num_frequencies)
        half_diagonals = half_diagonals / 2
        centres = (centres[open_cells][:, None, :] + _CHILD_OFFSETS[None] * half_diagonals).reshape(-1, 2)
        num_frequencies += len(centres)
        # A cheap proof closes most children below half the tolerance; the rest get their exact norms.
        screen = lower * (1 + tolerance / 2)
        closed = _norms_at_most(lags, coefficients, centres, screen / _cell_factor(sigma_b, sigma_h, half_diagonals))
        if closed.any():
            settled_upper = max(settled_upper, screen)
        centres = centres[~closed]
        values = _norms_from_gram(lags, coefficients, centres)
        lower = max(lower, float(values.max(initial=0.0)))


# A rhombus splits into four half-size rhombi, centred half a half-diagonal away from its centre along an axis.
_CHILD_OFFSETS = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)], dtype=np.float64)


def _cell_factor(sigma_b, sigma_h, half_diagonals):
    """How far above its centre's norm the supremum can be, if it lies in a rhombus of these half-diagonals.

    `g = Re u^H B v` (type `rho_b = max_i sigma_b_i h_i` over the cell) gives `S (1 - rho_b^2 / 2) <= ||B(c)||`;
    `h = u^H H u` (type `rho_h`, likewise) gives `S^2 (1 - rho_h^2 / 2) <= ||B(c)||^2`. The better one wins;
    `sigma_h = 0` (stride not smaller than the kernel) makes the norm constant and the factor 1.
    """
    from_b = 1 - float(np.max(sigma_b * half_diagonals)) ** 2 / 2
    from_h = 1 - float(np.max(sigma_h * half_diagonals)) ** 2 / 2
    factors = [1 / from_b if from_b > 0 else np.inf, 1 / np.sqrt(from_h) if from_h > 0 else np.inf]
    return min(factors)
