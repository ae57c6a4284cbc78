"""Adversarial examples of several models for the same images, side by side (Random Mask, Luo et al. 2019).

Row 0 shows the originals, then one row per model: its adversarial for that image and target, titled
with its per-pixel RMS distortion, so one can see whose adversarials are more visible.
"""

import textwrap

import numpy as np

from robustbench_keras.plots.figures import DPI, EXAMPLE_INCHES, _new_figure, _save


def plot_side_by_side(path, x, adversarials, labels, targets, dpi=DPI):
    """Draws `x` (N, 28, 28) and, per model, its adversarials {label: (N, 28, 28)}, one column per image."""
    x = np.asarray(x, np.float64)
    if len(x) == 0 or any(np.shape(images) != x.shape for images in adversarials.values()):
        raise ValueError(f"side by side: expected non-empty adversarials of shape {x.shape} per model")
    rows = 1 + len(adversarials)
    size = (round((EXAMPLE_INCHES * len(x) + 1.6) * dpi), round((EXAMPLE_INCHES * rows + 0.4) * dpi))
    figure = _new_figure(size, dpi)
    axes = figure.subplots(rows, len(x), squeeze=False)
    panels = [("original", x, [f"label {label}" for label in labels])]
    for name, images in adversarials.items():
        images = np.asarray(images, np.float64)
        rms = np.sqrt(np.mean((images - x) ** 2, axis=(1, 2)))
        panels.append((name, images, [f"→{t}, rms {r:.3f}" for t, r in zip(targets, rms)]))
    for row, (name, images, titles) in enumerate(panels):
        for column in range(len(x)):
            axis = axes[row, column]
            axis.imshow(images[column], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            axis.set_title(titles[column], fontsize=7)
            axis.set_xticks([])
            axis.set_yticks([])
        # Horizontal and wrapped: a long model name fits beside its row instead of running into the next.
        axes[row, 0].set_ylabel(textwrap.fill(name, 16), rotation=0, ha="right", va="center", fontsize=8)
    return _save(figure, path, dpi)
