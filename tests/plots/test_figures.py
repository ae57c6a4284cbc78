"""PNG figures: adversarial examples (Fig. 5 layout), transfer heatmaps, distortion histograms."""

import struct

import matplotlib.image
import numpy as np
import pytest

from robustbench_keras.plots import figures
from robustbench_keras.scorers.cells import display_names
from robustbench_keras.scorers import transfer


def _png_size(path):
    """(width, height) from the PNG header, after checking the signature and IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _check_png(path, size):
    assert _png_size(path) == size
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (size[1], size[0])
    assert pixels[..., :3].std() > 0.01  # something is drawn


@pytest.fixture(scope="module")
def examples():
    rng = np.random.default_rng(0)
    x = rng.random((4, 28, 28), dtype=np.float32) * 0.3
    x_adv = np.clip(x + rng.normal(0.0, 0.05, x.shape), 0.0, 1.0).astype(np.float32)
    return x, x_adv


@pytest.mark.parametrize("magnify", [10.0, "normalise"])
def test_adversarial_examples_png(tmp_path, examples, magnify):
    x, x_adv = examples
    path = figures.plot_adversarial_examples(tmp_path / "examples.png", x, x_adv, labels=[1, 2, 3, 4],
                                             targets=[5, 6, 7, 8], predictions=[5, 6, 7, 0], magnify=magnify)
    _check_png(path, (640, 480))  # 4 columns of 1.4 in + 0.8 in, 3 rows of 1.4 in + 0.6 in, at 100 dpi
    assert figures.figure_size_px("examples", num_examples=4) == (640, 480)


def test_adversarial_examples_accept_channel_axis_and_dpi(tmp_path, examples):
    x, x_adv = examples
    path = figures.plot_adversarial_examples(tmp_path / "e.png", x[:2, ..., None], x_adv[:2, ..., None],
                                             labels=[1, 2], targets=[3, 4], dpi=50)
    _check_png(path, figures.figure_size_px("examples", dpi=50, num_examples=2))


@pytest.mark.parametrize("arguments, message", [
    (dict(x_adv=np.zeros((4, 28, 27))), "expected x and x_adv of one shape"),
    (dict(labels=[1, 2]), "expected 4 labels, got 2"),
    (dict(magnify=-1.0), "magnify: expected a positive number or 'normalise'"),
])
def test_adversarial_examples_refuse_mismatched_inputs(tmp_path, examples, arguments, message):
    x, x_adv = examples
    call = dict(x=x, x_adv=x_adv, labels=[1, 2, 3, 4], targets=[5, 6, 7, 8]) | arguments
    with pytest.raises(ValueError, match=message):
        figures.plot_adversarial_examples(tmp_path / "bad.png", **call)
    assert not (tmp_path / "bad.png").exists()


def test_transfer_matrix_from_document(example_document):
    errors, rows, columns = transfer.matrix(example_document, "table2")
    # Models by their display names, as in the tables: paper name, else the submission's name.
    assert rows == ["FC10(1e-4)", "FC100-100-10", "My CNN", "Gaussian noise, stddev=0.1", "Gaussian noise, stddev=0.3"]
    assert columns == ["FC10(1e-4)", "FC100-100-10", "My CNN"]
    np.testing.assert_array_equal(errors, [[1.0, 0.031, 0.25], [0.3, 1.0, 0.1], [0.2, 0.4, 1.0],
                                           [0.06, 0.01, 0.0], [0.2, 0.05, 0.02]])
    errors, rows, columns = transfer.matrix(example_document, "table4", magnified=True)
    assert rows == ["FC100-100-10 (P1)", "Gaussian noise, stddev=0.1"]
    assert columns == ["FC100-100-10 (P1)", "fc100_100_10_p2"]  # not an entry of the document: its id
    np.testing.assert_array_equal(errors, [[1.0, 0.5], [0.03, 0.03]])


def test_display_names_tell_apart_models_sharing_a_paper_name(document):
    document["entries"][2]["paper_name"] = "FC100-100-10"
    names = display_names(document, None)
    assert names == {"fc10_wd1e-4": "FC10(1e-4)", "fc100_100_10": "FC100-100-10 (fc100_100_10)",
                     "fc100_100_10_p1": "FC100-100-10 (fc100_100_10_p1)", "my_cnn": "My CNN"}


@pytest.fixture
def drawn(monkeypatch):
    """The figures drawn during the test, kept when they are saved."""
    figures_drawn = []
    save = figures._save

    def keep(figure, path, dpi):
        figures_drawn.append(figure)
        return save(figure, path, dpi)

    monkeypatch.setattr(figures, "_save", keep)
    return figures_drawn


def test_heatmap_axes_carry_the_display_names(tmp_path, example_document, drawn):
    errors, rows, columns = transfer.matrix(example_document, "table2")
    figures.plot_transfer_matrix(tmp_path / "table2.png", errors, rows, columns, "Table 2")
    axis = drawn[0].axes[0]
    assert [label.get_text() for label in axis.get_yticklabels()] == rows
    assert [label.get_text() for label in axis.get_xticklabels()] == ["FC10(1e-4)", "FC100-100-10", "My CNN"]


def test_transfer_heatmap_png_with_missing_cells(tmp_path, example_document):
    errors, rows, columns = transfer.matrix(example_document, "table2")
    errors[0, 1] = np.nan
    path = figures.plot_transfer_matrix(tmp_path / "table2.png", errors, rows, columns, "Table 2")
    _check_png(path, (570, 650))  # 3 columns of 0.9 in + 3 in, 5 rows of 0.9 in + 2 in, at 100 dpi
    with pytest.raises(ValueError, match="expected a non-empty 5×2 matrix"):
        figures.plot_transfer_matrix(tmp_path / "bad.png", errors, rows, columns[:2], "Table 2")


def test_distortion_histograms_png(tmp_path, drawn):
    rng = np.random.default_rng(1)
    distortions = {f"model_{i}": rng.gamma(4.0, 0.015, size=100) for i in range(4)}
    distortions["model_0"][:7] = np.nan  # failed attacks
    path = figures.plot_distortion_histograms(tmp_path / "hist.png", distortions)
    _check_png(path, (960, 520))  # 3 panels of 3.2 in across, 2 rows of 2.4 in + 0.4 in, at 100 dpi
    panels = [axis for axis in drawn[0].axes if axis.get_visible()]
    assert [(axis.get_xlabel(), axis.get_ylabel()) for axis in panels] == [
        ("per-pixel RMS distortion", "examples")] * 4
    with pytest.raises(ValueError, match="expected at least one model's distortions"):
        figures.plot_distortion_histograms(tmp_path / "none.png", {})
