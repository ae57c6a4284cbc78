"""Tests of the Figure 1-2 grids: the PNG's size and each digit drawn pixel for pixel in its cell."""

import matplotlib.image
import numpy as np
import pytest

from robustbench_keras.plots import direction_grids


@pytest.fixture(scope="module")
def images():
    """Twelve random 28x28 images in [0, 1], each different from the others."""
    return np.random.default_rng(0).random((12, 28, 28)).astype(np.float32)


UNIT_ROWS = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
RANDOM_ROWS = np.array([[11, 10, 9, 8], [3, 2, 1, 0]])


def test_grid_png_has_the_layout_size(tmp_path, images):
    path = tmp_path / "grid.png"
    size = direction_grids.save_direction_grid(path, images, UNIT_ROWS, RANDOM_ROWS, title="net, layer fc")
    # scale 2: cells of 28 * 2 + 2 = 58 px; panels of 80 + 4 * 58 = 312 px, 24 px apart;
    # height 30 (title) + 24 (headers) + 3 rows * 58 + 6 (bottom).
    assert size == (234, 648)
    assert matplotlib.image.imread(path).shape[:2] == (234, 648)


def test_each_digit_is_drawn_in_its_cell(tmp_path, images):
    path = tmp_path / "grid.png"
    direction_grids.save_direction_grid(path, images, UNIT_ROWS, RANDOM_ROWS, scale=2)
    grey = matplotlib.image.imread(path)[..., 0]
    top, cell = 30 + 24, 58
    for panel_left, rows in ((80, UNIT_ROWS), (312 + 24 + 80, RANDOM_ROWS)):
        for row, indices in enumerate(rows):
            for column, index in enumerate(indices):
                y0, x0 = top + row * cell, panel_left + column * cell
                drawn = grey[y0:y0 + 56, x0:x0 + 56]
                # Within two grey levels: the 256-entry colormap and the 8-bit PNG each round once.
                # A cell off by one pixel would differ by ~0.33 on average (random images).
                np.testing.assert_allclose(drawn, np.kron(images[index], np.ones((2, 2))), atol=2.01 / 255)
    empty_row = grey[top + 2 * cell: top + 3 * cell, 312 + 24 + 80: 648]  # random panel has 2 rows
    assert np.all(empty_row == 1.0)


def test_layer_grid_names_rows_from_a_scorer_result(tmp_path, images):
    layer_result = {
        "layer": "fc",
        "unit": {"directions": [3, 17], "majority_labels": [1, 7], "top_k_indices": UNIT_ROWS[:2].tolist()},
        "random": {"majority_labels": [0, 0], "top_k_indices": RANDOM_ROWS.tolist()},
    }
    path = tmp_path / "layer.png"
    assert direction_grids.save_layer_grid(path, images, layer_result) == (30 + 24 + 2 * 58 + 6, 648)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
