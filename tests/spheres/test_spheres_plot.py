"""The trade-off figure is written as a PNG of the expected size."""

import matplotlib.image

from robustbench_keras.plots.spheres_tradeoff import plot_tradeoff


def test_tradeoff_figure_is_written(tmp_path):
    path = tmp_path / "tradeoff.png"
    plot_tradeoff(path, [("quadratic, 2k steps", 0.2318, 0.031)], dimension=500)
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (540, 720)
