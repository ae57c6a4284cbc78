"""PNG figures of a run: adversarial examples (the paper's Fig. 5), transfer heatmaps, histograms.

Szegedy et al. 2014 (arXiv 1312.6199). Matplotlib's object API: a `Figure` rendered by Agg, never
pyplot or its global state. Every figure has a fixed size in inches and a `dpi`, so its pixel
size is known in advance (`figure_size_px`). Inputs are plain numpy arrays or the leaderboard document.
"""

import math

import numpy as np
from matplotlib.figure import Figure

from robustbench_keras.atomic import atomic_write

DPI = 100
EXAMPLE_INCHES = 1.4  # width and height of one example image panel
HEATMAP_CELL_INCHES = 0.9
HISTOGRAM_INCHES = (3.2, 2.4)


def figure_size_px(kind, dpi=DPI, **counts):
    """The (width, height) in pixels of a figure, from its kind and counts.

    Args:
        kind: "examples" (counts: num_examples), "transfer" (num_rows, num_columns) or
            "histograms" (num_models).
        dpi: dots per inch.

    Returns:
        (width, height) in pixels.
    """
    if kind == "examples":
        inches = (EXAMPLE_INCHES * counts["num_examples"] + 0.8, EXAMPLE_INCHES * 3 + 0.6)
    elif kind == "transfer":
        inches = (HEATMAP_CELL_INCHES * counts["num_columns"] + 3.0, HEATMAP_CELL_INCHES * counts["num_rows"] + 2.0)
    elif kind == "histograms":
        columns = min(3, counts["num_models"])
        rows = math.ceil(counts["num_models"] / columns)
        inches = (HISTOGRAM_INCHES[0] * columns, HISTOGRAM_INCHES[1] * rows + 0.4)
    else:
        raise ValueError(f"unknown figure kind {kind!r}")
    return round(inches[0] * dpi), round(inches[1] * dpi)


def _save(figure, path, dpi):
    # No bbox_inches="tight": the saved size stays exactly figsize * dpi.
    atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=dpi, format="png"))
    return path


def _new_figure(size_px, dpi):
    return Figure(figsize=(size_px[0] / dpi, size_px[1] / dpi), dpi=dpi, layout="constrained")


def plot_adversarial_examples(path, x, x_adv, labels, targets, predictions=None, magnify=10.0, dpi=DPI):
    """Original / magnified perturbation / adversarial, one column per example (paper's Fig. 5).

    Args:
        path: the PNG file to write.
        x: float (N, 28, 28) or (N, 28, 28, 1) originals in [0, 1].
        x_adv: adversarials, same shape as `x`.
        labels: int (N,) true labels.
        targets: int (N,) attack targets.
        predictions: optional int (N,) the model's labels for `x_adv`, shown under each adversarial.
        magnify: a factor (perturbation × factor around mid-grey) or "normalise" (each
            perturbation scaled so its largest absolute pixel reaches black or white).
        dpi: dots per inch.

    Returns:
        `path`.

    Raises:
        ValueError: shapes or lengths disagree, or `magnify` is neither a positive number nor "normalise".
    """
    x, x_adv = np.asarray(x, dtype=np.float64), np.asarray(x_adv, dtype=np.float64)
    if x.shape != x_adv.shape or x.ndim not in (3, 4) or len(x) == 0:
        raise ValueError(f"adversarial examples: expected x and x_adv of one shape (N, 28, 28[, 1]), got "
                          f"{x.shape} and {x_adv.shape}")
    for name, values in (("labels", labels), ("targets", targets), ("predictions", predictions)):
        if values is not None and len(values) != len(x):
            raise ValueError(f"adversarial examples: expected {len(x)} {name}, got {len(values)}")
    images, adversarials = x.reshape(x.shape[:3]), x_adv.reshape(x.shape[:3])
    perturbation = adversarials - images
    if magnify == "normalise":
        scale = np.abs(perturbation).max(axis=(1, 2), keepdims=True)
        shown = 0.5 + 0.5 * perturbation / np.where(scale > 0, scale, 1.0)
        caption = "perturbation (normalised)"
    elif isinstance(magnify, (int, float)) and magnify > 0:
        shown = np.clip(0.5 + magnify * perturbation, 0.0, 1.0)
        caption = f"perturbation ×{magnify:g}"
    else:
        raise ValueError(f"adversarial examples: magnify: expected a positive number or 'normalise', got {magnify!r}")
    figure = _new_figure(figure_size_px("examples", dpi, num_examples=len(x)), dpi)
    axes = figure.subplots(3, len(x), squeeze=False)
    for column in range(len(x)):
        rms = float(np.sqrt(np.mean(perturbation[column] ** 2)))
        panels = (
            (images[column], f"label {labels[column]}"),
            (shown[column], f"rms {rms:.3f}"),
            (adversarials[column],
             f"target {targets[column]}" + ("" if predictions is None else f", pred {predictions[column]}")),
        )
        for row, (image, title) in enumerate(panels):
            axis = axes[row, column]
            axis.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            axis.set_title(title, fontsize=8)
            axis.set_xticks([])
            axis.set_yticks([])
        axes[0, column].set_ylabel("original" if column == 0 else "", fontsize=8)
        axes[1, column].set_ylabel(caption if column == 0 else "", fontsize=8)
        axes[2, column].set_ylabel("adversarial" if column == 0 else "", fontsize=8)
    return _save(figure, path, dpi)


def plot_transfer_matrix(path, errors, row_labels, column_labels, title, dpi=DPI):
    """A heatmap of transfer errors with each value annotated in percent.

    Args:
        path: the PNG file to write.
        errors: float (rows, columns) fractions in [0, 1]; NaN cells are left blank.
        row_labels: what each row's adversarials were generated for (or a control's label).
        column_labels: the model each column's error was measured on.
        title: the figure title, e.g. "Table 2".
        dpi: dots per inch.

    Returns:
        `path`.

    Raises:
        ValueError: the labels do not match the matrix shape, or the matrix is empty.
    """
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim != 2 or errors.shape != (len(row_labels), len(column_labels)) or errors.size == 0:
        raise ValueError(f"transfer matrix: expected a non-empty {len(row_labels)}×{len(column_labels)} "
                          f"matrix matching the labels, got shape {errors.shape}")
    figure = _new_figure(figure_size_px("transfer", dpi, num_rows=errors.shape[0], num_columns=errors.shape[1]), dpi)
    axis = figure.subplots()
    image = axis.imshow(np.ma.masked_invalid(100.0 * errors), cmap="viridis", vmin=0.0, vmax=100.0, aspect="auto")
    for (row, column), value in np.ndenumerate(errors):
        if np.isfinite(value):
            axis.text(column, row, f"{100.0 * value:.1f}", ha="center", va="center", fontsize=8,
                      color="black" if value > 0.6 else "white")
    axis.set_xticks(range(len(column_labels)), column_labels, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(len(row_labels)), row_labels, fontsize=8)
    axis.set_xlabel("error on (%)")
    axis.set_ylabel("examples generated for")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, label="error (%)")
    return _save(figure, path, dpi)


def plot_distortion_histograms(path, distortions, bins=30, title="Minimal distortion", dpi=DPI):
    """One histogram of per-example minimal distortion per model, with mean and median marked.

    Args:
        path: the PNG file to write.
        distortions: {model label: float (N,) per-pixel RMS distortions}; NaN (failed attacks) are
            left out and counted in the panel title.
        bins: histogram bins per panel.
        title: the figure title.
        dpi: dots per inch.

    Returns:
        `path`.

    Raises:
        ValueError: `distortions` is empty.
    """
    if not distortions:
        raise ValueError("distortion histograms: expected at least one model's distortions, got none")
    size = figure_size_px("histograms", dpi, num_models=len(distortions))
    figure = _new_figure(size, dpi)
    columns = min(3, len(distortions))
    axes = figure.subplots(math.ceil(len(distortions) / columns), columns, squeeze=False).ravel()
    for axis, (label, values) in zip(axes, distortions.items()):
        values = np.asarray(values, dtype=np.float64).ravel()
        finite = values[np.isfinite(values)]
        axis.hist(finite, bins=bins, color="tab:blue")
        if finite.size:
            axis.axvline(finite.mean(), color="tab:red", label=f"mean {finite.mean():.3f}")
            axis.axvline(np.median(finite), color="tab:orange", linestyle="--", label=f"median {np.median(finite):.3f}")
            axis.legend(fontsize=7)
        axis.set_title(f"{label} ({values.size - finite.size} failed of {values.size})", fontsize=8)
        axis.set_xlabel("per-pixel RMS distortion", fontsize=8)
        axis.set_ylabel("examples", fontsize=8)
        axis.tick_params(labelsize=7)
    for axis in axes[len(distortions):]:
        axis.set_visible(False)
    figure.suptitle(title)
    return _save(figure, path, dpi)
