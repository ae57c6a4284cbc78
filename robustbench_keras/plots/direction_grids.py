"""Figures 1 and 2 of Szegedy et al. 2014 (arXiv 1312.6199): top-k images per direction.

One PNG shows the natural basis (units, left panel) next to random directions (right panel): one
row per direction, its k held-out images in decreasing order of <phi(x), direction>. The layout is
pixel exact, so each digit appears at `scale` screen pixels per image pixel:

- every image sits in a cell of `28 * scale + PAD_PX` pixels, its pad on the right and below;
- a panel is `LABEL_PX` of row names followed by `top_k` cells, and the panels are `GAP_PX` apart;
- above the rows are `TITLE_PX` for the title and `HEADER_PX` for the panel headers, and below
  them `BOTTOM_PX`.
"""

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from robustbench_keras.atomic import atomic_write  # noqa: E402

PAD_PX = 2
LABEL_PX = 80
GAP_PX = 24
TITLE_PX = 30
HEADER_PX = 24
BOTTOM_PX = 6
DPI = 100
BACKGROUND = 1.0  # white between images, so the black digit backgrounds stay apart


def save_direction_grid(path, x, unit_topk_indices, random_topk_indices, title="", unit_names=None,
                        random_names=None, scale=2):
    """Writes the PNG of top-k images per direction, units next to random directions.

    Args:
        path: where the PNG goes.
        x: float (num_examples, 28, 28) in [0, 1], the held-out images the indices point into.
        unit_topk_indices: int (num_units, k) indices into `x`, one row per unit.
        random_topk_indices: int (num_random, k), one row per random direction.
        title: figure title, e.g. the model and layer.
        unit_names: one label per unit row (default "e 1", "e 2", ...).
        random_names: one label per random row (default "v 1", "v 2", ...).
        scale: screen pixels per image pixel (an integer >= 1).

    Returns:
        `(height, width)` of the written PNG in pixels.
    """
    x = np.asarray(x, dtype=np.float64)
    panels = [np.asarray(unit_topk_indices), np.asarray(random_topk_indices)]
    names = [unit_names or [f"e {i + 1}" for i in range(len(panels[0]))],
             random_names or [f"v {i + 1}" for i in range(len(panels[1]))]]
    headers = ["natural basis: units e_i", "random directions v"]
    top_k = panels[0].shape[1]
    cell = x.shape[1] * scale + PAD_PX
    num_rows = max(len(panel) for panel in panels)
    panel_width = LABEL_PX + top_k * cell
    width = 2 * panel_width + GAP_PX
    height = TITLE_PX + HEADER_PX + num_rows * cell + BOTTOM_PX

    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
    figure.text(0.5, 1 - TITLE_PX / 2 / height, title, ha="center", va="center", fontsize=12)
    for number, (indices, row_names, header) in enumerate(zip(panels, names, headers)):
        left = number * (panel_width + GAP_PX) + LABEL_PX
        mosaic = _mosaic(x, indices, num_rows, scale)
        axes = figure.add_axes([left / width, BOTTOM_PX / height, mosaic.shape[1] / width, mosaic.shape[0] / height])
        axes.imshow(mosaic, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest", aspect="auto")
        axes.set_axis_off()
        figure.text((left + mosaic.shape[1] / 2) / width, 1 - (TITLE_PX + HEADER_PX / 2) / height, header,
                    ha="center", va="center", fontsize=10)
        for row, name in enumerate(row_names):
            centre = height - TITLE_PX - HEADER_PX - (row + 0.5) * cell
            figure.text((left - 6) / width, centre / height, name, ha="right", va="center", fontsize=8)
    atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=DPI, format="png"))
    return height, width


def save_layer_grid(path, x, layer_result, title=""):
    """Writes the grid of one layer from the `unit_semantics` result of that layer.

    Rows are named by unit index or random direction number, with the majority label of the row.

    Args:
        path: where the PNG goes.
        x: the held-out images the scorer ranked (its first `num_examples`).
        layer_result: `unit_semantics.score(...)["layers"][layer_name]`.
        title: figure title; default names the layer.

    Returns:
        `(height, width)` of the written PNG in pixels.
    """
    unit, random = layer_result["unit"], layer_result["random"]
    unit_names = [f"e{u} ({label})" for u, label in zip(unit["directions"], unit["majority_labels"])]
    random_names = [f"v{i + 1} ({label})" for i, label in enumerate(random["majority_labels"])]
    return save_direction_grid(path, x, unit["top_k_indices"], random["top_k_indices"],
                               title=title or f"layer {layer_result['layer']}", unit_names=unit_names,
                               random_names=random_names)


def _mosaic(x, indices, num_rows, scale):
    """The images of `indices` tiled row by row, enlarged `scale` times, pads at BACKGROUND."""
    size = x.shape[1] * scale
    cell = size + PAD_PX
    mosaic = np.full((num_rows * cell, indices.shape[1] * cell), BACKGROUND)
    for row, row_indices in enumerate(indices):
        for column, index in enumerate(row_indices):
            image = np.kron(x[index], np.ones((scale, scale)))
            mosaic[row * cell: row * cell + size, column * cell: column * cell + size] = image
    return mosaic
