"""Exact verification's solve time per example, sorted (a "cactus" plot), one line per model and ε."""

import numpy as np

from robustbench_keras.plots.figures import DPI, _new_figure, _save

INCHES = (6.0, 5.0)


def plot_verification_times(path, curves, dpi=DPI):
    """Draws {label: (times_s, timed_out)}: each model's solve times in increasing order, timeouts marked x.

    Args:
        path: the PNG file to write.
        curves: label -> (solve time per example in seconds, whether each timed out), same length.
        dpi: dots per inch.
    """
    figure = _new_figure((INCHES[0] * dpi, INCHES[1] * dpi), dpi)
    axes = figure.add_subplot()
    for label, (times, timed_out) in curves.items():
        order = np.argsort(times, kind="stable")
        times, timed_out = np.asarray(times, float)[order], np.asarray(timed_out, bool)[order]
        rank = np.arange(1, len(times) + 1)
        line = axes.plot(rank, times, label=f"{label} (mean {np.mean(times):.2f} s)" if len(times) else label)[0]
        axes.plot(rank[timed_out], times[timed_out], "x", color=line.get_color())
    axes.set(xlabel="Examples (sorted by solve time)", ylabel="Solve time (s)", yscale="log",
             title="Exact verification (MILP): time per example")
    figure.legend(loc="outside lower center", fontsize="small")  # below the axes: never over a curve
    return _save(figure, path, dpi)
