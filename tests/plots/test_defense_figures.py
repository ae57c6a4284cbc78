"""The defenses' figures: adversarials side by side (Random Mask) and the detector's ROC curves."""

import struct

import matplotlib.image
import numpy as np
import pytest

from robustbench_keras.plots.roc import plot_roc_curves
from robustbench_keras.plots.side_by_side import plot_side_by_side


def _png_size(path):
    with open(path, "rb") as handle:
        header = handle.read(24)
    return struct.unpack(">II", header[16:24])


def test_side_by_side_has_a_row_per_model_and_a_column_per_image(tmp_path):
    x = np.random.default_rng(0).random((3, 28, 28))
    adversarials = {"plain": x * 0.9, "mask 50%": x * 0.8}
    path = plot_side_by_side(tmp_path / "side.png", x, adversarials, [1, 2, 3], [4, 5, 6], dpi=50)
    # (1.4 in per image + 1.6) x (1.4 in per row + 0.4), rows: originals and two models
    assert _png_size(path) == (round((1.4 * 3 + 1.6) * 50), round((1.4 * 3 + 0.4) * 50))
    assert matplotlib.image.imread(path).std() > 0


def test_side_by_side_refuses_mismatched_adversarials(tmp_path):
    x = np.zeros((2, 28, 28))
    with pytest.raises(ValueError, match="side by side"):
        plot_side_by_side(tmp_path / "bad.png", x, {"plain": np.zeros((3, 28, 28))}, [0, 1], [1, 0])
    assert not (tmp_path / "bad.png").exists()


def test_roc_curves_png(tmp_path):
    roc = {"false_positive_rates": [1.0, 0.5, 0.0], "true_positive_rates": [1.0, 0.9, 0.0]}
    path = plot_roc_curves(tmp_path / "roc.png", {"conv net": (roc, 0.9)}, dpi=50)
    assert _png_size(path) == (250, 210)
