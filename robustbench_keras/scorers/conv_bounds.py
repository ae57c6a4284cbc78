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
from `xi*`) gives `g(xi* + t) >= S (1 - (sigma_1 |t_1| + sigma_2 |t_2|)^2 / 2)`. Hence for the cell of
half-widths `r` that contains `xi*`, `S <= ||B(centre)|| / (1 - (sigma . r)^2 / 2)`. Cells are refined
(3 x 3) until no cell can hide a value more than `tolerance` above the best frequency evaluated.
"""

import dataclasses

import numpy as np

# Frequencies evaluated per batch: B is (batch, D, C s1 s2) complex128, e.g. 16 x 384 x 384 x 16 B = 38 MB.
_BATCH_BYTES = 64 * 2**20
# Coarsest cells allowed: sigma . r at most this, so the first bounds are finite and useful.
_MAX_INITIAL_SIGMA_R = 0.5


@dataclasses.dataclass(frozen=True)
class ConvBound:
    """A certified bound on a convolution's operator norm.

    Attributes:
        upper: a true upper bound on the supremum over all frequencies (the layer's bound).
        lower: the largest norm at an evaluated frequency, a lower bound on that supremum.
        num_frequencies: how many frequencies were evaluated.
    """

    upper: float
    lower: float
    num_frequencies: int


def frequency_norms(kernel, strides, frequencies):
    """Norms `||B(xi)|| / sqrt(s1 s2)` at given frequencies.

    Args:
        kernel: real array (kh, kw, C, D), Keras Conv2D layout.
        strides: (s1, s2) positive ints.
        frequencies: float array (P, 2), radians per input pixel.

    Returns:
        float64 array (P,).
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    s1, s2 = strides
    kh, kw, c, d = kernel.shape
    # Aliases l / s of each frequency, axis 1 slow: (P, s1 s2, 2).
    aliases = np.stack(np.meshgrid(np.arange(s1) / s1, np.arange(s2) / s2, indexing="ij"), -1).reshape(-1, 2)
    omega = np.asarray(frequencies, dtype=np.float64)[:, None, :] + 2 * np.pi * aliases[None]
    # Centred indices: a unit phase per column of B, which leaves its singular values unchanged.
    phase_1 = np.exp(-1j * omega[..., 0, None] * (np.arange(kh) - (kh - 1) / 2))  # (P, s1 s2, kh)
    phase_2 = np.exp(-1j * omega[..., 1, None] * (np.arange(kw) - (kw - 1) / 2))  # (P, s1 s2, kw)
    columns = c * s1 * s2
    per_frequency = 16 * (d * columns + kw * c * d * s1 * s2 + min(d, columns) ** 2)
    batch = max(1, _BATCH_BYTES // per_frequency)
    norms = np.empty(len(omega))
    for start in range(0, len(omega), batch):
        p1, p2 = phase_1[start : start + batch], phase_2[start : start + batch]
        partial = np.einsum("pla,abcd->plbcd", p1, kernel)
        w_hat = np.einsum("plb,plbcd->pdlc", p2, partial).reshape(len(p1), d, columns)
        if columns <= d:
            gram = np.matmul(w_hat.conj().transpose(0, 2, 1), w_hat)
        else:
            gram = np.matmul(w_hat, w_hat.conj().transpose(0, 2, 1))
        largest = np.linalg.eigvalsh(gram)[:, -1]
        norms[start : start + len(p1)] = np.sqrt(np.maximum(largest, 0.0) / (s1 * s2))
    return norms


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


def conv_bound(kernel, strides=(1, 1), tolerance=1e-3, initial_grid=16):
    """Certified supremum over all frequencies of the strided convolution's Fourier block norm.

    Args:
        kernel: real array (kh, kw, C, D), Keras Conv2D layout (dilations already expanded).
        strides: (s1, s2) positive ints.
        tolerance: stop when `upper <= lower * (1 + tolerance)`.
        initial_grid: least number of cells per axis of the first grid (more if the kernel needs it).

    Returns:
        ConvBound: `upper` bounds the layer's norm for any input size and zero or circular padding.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    sigma = (np.array(kernel.shape[:2]) - 1) / 2
    period = 2 * np.pi / np.array(strides, dtype=np.float64)
    num_cells = max(initial_grid, int(np.ceil((sigma * period).sum() / (2 * _MAX_INITIAL_SIGMA_R))))
    half_width = period / (2 * num_cells)
    index = np.stack(np.meshgrid(np.arange(num_cells), np.arange(num_cells), indexing="ij"), -1).reshape(-1, 2)
    # A real kernel gives ||B(-xi)|| = ||B(xi)||: keep one cell of each mirror pair.
    mirror = (-index) % num_cells
    keep = (index[:, 0] < mirror[:, 0]) | ((index[:, 0] == mirror[:, 0]) & (index[:, 1] <= mirror[:, 1]))
    centres = index[keep] * (2 * half_width)
    values = frequency_norms(kernel, strides, centres)
    num_frequencies = len(centres)
    lower = float(values.max())
    settled_upper = 0.0
    offsets = np.stack(np.meshgrid([-1, 0, 1], [-1, 0, 1], indexing="ij"), -1).reshape(-1, 2)
    offsets = offsets[np.any(offsets != 0, axis=1)]
    while True:
        spread = float(sigma @ half_width)
        factor = 1 - spread**2 / 2
        upper_per_cell = values / factor if factor > 0 else np.full_like(values, np.inf)
        open_cells = upper_per_cell > lower * (1 + tolerance)
        settled_upper = max(settled_upper, float(upper_per_cell[~open_cells].max(initial=0.0)))
        if not open_cells.any():
            return ConvBound(upper=max(settled_upper, lower), lower=lower, num_frequencies=num_frequencies)
        parents = centres[open_cells]
        half_width = half_width / 3
        children = (parents[:, None, :] + offsets[None] * (2 * half_width)).reshape(-1, 2)
        child_values = frequency_norms(kernel, strides, children)
        num_frequencies += len(children)
        centres = np.concatenate([parents, children])
        values = np.concatenate([values[open_cells], child_values])
        lower = max(lower, float(child_values.max()))
