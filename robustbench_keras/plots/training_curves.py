"""Test error and pool distortion per training epoch, one line per recipe (the paper's Section 4.2)."""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from robustbench_keras.plots.figures import DPI, _save

SIZE_INCHES = (10.0, 3.8)
LAYER_MARKERS = {0: "o", 1: "s", 2: "^", 3: "D"}  # pool level: 0 is the input, k hidden layer k


def plot_training_curves(path, histories, dpi=DPI):
    """Left: test error (%) after each epoch; right: the mean RMS distortion of the adversarial pool
    trained on in that epoch, its marker telling the pool's space (input or hidden layer k).

    Args:
        path: the PNG file to write.
        histories: {recipe label: [{"epoch", "test_error", optionally "layer", "pool_distortion_rms"}]}.
        dpi: dots per inch.

    Returns:
        `path`.

    Raises:
        ValueError: no history has any epoch.
    """
    if not any(histories.values()):
        raise ValueError("training curves: expected at least one epoch of history, got none")
    figure = Figure(figsize=SIZE_INCHES, dpi=dpi, layout="constrained")
    errors, pools = figure.subplots(1, 2)
    for index, (label, rows) in enumerate(histories.items()):
        color = f"C{index}"
        epochs = [row["epoch"] for row in rows]
        errors.plot(epochs, [100 * _value(row.get("test_error")) for row in rows], color=color, marker=".", label=label)
        for layer in sorted({row["layer"] for row in rows if "layer" in row}):
            mine = [row for row in rows if row.get("layer") == layer]
            pools.plot([row["epoch"] for row in mine], [_value(row.get("pool_distortion_rms")) for row in mine],
                       color=color, marker=LAYER_MARKERS.get(layer, "x"), linestyle=":",
                       label=f"{label}, {'input' if layer == 0 else f'hidden layer {layer}'}")
    for axis in (errors, pools):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    errors.set(xlabel="epoch", ylabel="test error (%)", title="Test error after each epoch")
    errors.set_yscale("log")
    errors.yaxis.set_major_formatter("{x:g}")
    errors.yaxis.set_minor_formatter("{x:g}")
    errors.grid(True, which="both", alpha=0.3)
    errors.legend(fontsize=7)
    pools.set(xlabel="epoch", ylabel="mean per-unit RMS distortion",
              title="Adversarial pool trained on (its own space)")
    pools.grid(True, alpha=0.3)
    if pools.has_data():
        pools.legend(fontsize=7)
    else:
        pools.text(0.5, 0.5, "no adversarial training", ha="center", va="center", transform=pools.transAxes)
    return _save(figure, path, dpi)


def _value(number):
    return np.nan if number is None else number
