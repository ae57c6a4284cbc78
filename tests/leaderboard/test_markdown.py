"""Markdown tables: paper | ours | difference, laid out like the paper's Tables 1-5."""

import copy

import pytest

from robustbench_keras.leaderboard import render_markdown, validate_document
from robustbench_keras.scorers.cells import Comparison, format_comparison, format_value


@pytest.fixture
def small_document(document):
    """One paper model and one submission whose name needs escaping, nothing else."""
    paper_model = copy.deepcopy(document["entries"][0])
    paper_model["transfer"]["errors_on"] = {"fc10_wd1e-4": 1.0, "ab_net": 0.25}
    submission = copy.deepcopy(document["entries"][3])
    submission.update(id="ab_net")
    submission["submission"]["name"] = "A|B net"
    submission["transfer"]["errors_on"] = {"fc10_wd1e-4": 0.2, "ab_net": 1.0}
    document["entries"] = [paper_model, submission]
    document["controls"] = {"table2": [document["controls"]["table2"][1]]}
    del document["table5"]
    validate_document(document)
    return document


def _table_lines(markdown, title_start):
    """The pipe-table lines of the section whose heading starts with `title_start`."""
    section = markdown.split(f"## {title_start}", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def test_table1_against_hand_written_rows(small_document):
    expected = [
        "| Model | Train error (%) | Test error (%) | Av. min. distortion | Success rate (%) |",
        "|---|--:|--:|--:|--:|",
        r"| FC10(1e-4) | 6.7 \| 7.1 \| +0.4 | 7.4 \| 7.5 \| +0.1 | 0.062 \| 0.065 \| +0.003 | — \| 95 \| — |",
        r"| FC10(1e-2) | 10 \| — \| — | 9.4 \| — \| — | 0.100 \| — \| — | — \| — \| — |",
        r"| FC10(1) | 21.2 \| — \| — | 20 \| — \| — | 0.140 \| — \| — | — \| — \| — |",
        r"| FC100-100-10 | 0 \| — \| — | 1.64 \| — \| — | 0.058 \| — \| — | — \| — \| — |",
        r"| FC200-200-10 | 0 \| — \| — | 1.54 \| — \| — | 0.065 \| — \| — | — \| — \| — |",
        r"| AE400-10 | 0.57 \| — \| — | 1.9 \| — \| — | 0.086 \| — \| — | — \| — \| — |",
        r"| A\|B net | — \| 0.4 \| — | — \| 0.9 \| — | — \| — \| — | — \| — \| — |",
    ]
    assert _table_lines(render_markdown(small_document), "Table 1:") == expected


def test_table2_has_a_row_and_a_column_for_the_submission(small_document):
    lines = _table_lines(render_markdown(small_document), "Table 2:")
    assert lines[0] == ("| Generated for / error on (%) | FC10(1e-4) | FC10(1e-2) | FC10(1) | FC100-100-10 | "
                        r"FC200-200-10 | AE400-10 | A\|B net | Av. distortion |")
    assert lines[2] == (r"| FC10(1e-4) | 100 \| 100 \| +0 | 11.7 \| — \| — | 22.7 \| — \| — | 2 \| — \| — | "
                        r"3.9 \| — \| — | 2.7 \| — \| — | — \| 25 \| — | 0.062 \| 0.065 \| +0.003 |")
    assert lines[8] == (r"| A\|B net | — \| 20 \| — | — \| — \| — | — \| — \| — | — \| — \| — | — \| — \| — | "
                        r"— \| — \| — | — \| 100 \| — | — \| 0.090 \| — |")
    # The paper's stddev 0.1 control has no counterpart in this run; the 0.3 one is matched by stddev.
    assert lines[9].startswith(r"| Gaussian noise, stddev=0.1 | 5 \| — \| — |")
    assert lines[10] == (r"| Gaussian noise, stddev=0.3 | 15.6 \| 20 \| +4.4 | 11.3 \| — \| — | 22.7 \| — \| — | "
                         r"5 \| 5 \| +0 | 4.3 \| — \| — | 3.1 \| — \| — | — \| — \| — | 0.300 \| 0.300 \| +0.000 |")
    assert len(lines) == 11


def test_p1_p2_models_go_to_tables_3_and_4_with_magnified_block(document):
    markdown = render_markdown(document)
    table1, table3 = _table_lines(markdown, "Table 1:"), _table_lines(markdown, "Table 3:")
    assert not any("(P1)" in line for line in table1)
    assert table3[2] == (r"| FC100-100-10 (P1) | 0 \| 0 \| +0 | 2.4 \| 3 \| +0.6 | 2 \| 2.5 \| +0.5 | "
                         r"0.062 \| 0.070 \| +0.008 | — \| 95 \| — |")
    table4 = _table_lines(markdown, "Table 4:")
    assert table4[2] == r"| FC100-100-10 (P1) | 100 \| 100 \| +0 | 26.2 \| — \| — | 5.9 \| 8 \| +2.1 | 0.062 \| 0.070 \| +0.008 |"
    assert table4[-1] == r"| Gaussian noise, stddev=0.06 | 2.2 \| 2 \| -0.2 | 2.6 \| — \| — | 2.4 \| 3 \| +0.6 | 0.060 \| 0.060 \| +0.000 |"
    magnified = _table_lines(markdown, "Table 4 (continued)")
    assert magnified[2] == r"| FC100-100-10 (P1) | 100 \| 100 \| +0 | 98 \| — \| — | 43 \| 50 \| +7 | 0.100 \| 0.100 \| +0.000 |"
    assert "(mode: rms;" in markdown


def test_table5_layers_by_name_and_product(document):
    lines = _table_lines(render_markdown(document), "Table 5:")
    assert lines[2] == r"| conv1 | 3×11×11×96 | 4 | 2.75 \| 3.00 \| +0.25 |"
    assert lines[3] == r"| pool1 | — | 2 | — \| 1.00 \| — |"
    assert r"| fc2 | 4096×4096 | — | 4.00 \| — \| — |" in lines
    assert lines[-1] == r"| Product |  |  | — \| 30.00 \| — |"


def test_table5_layers_without_weights_or_with_unequal_strides(document):
    document["table5"]["layers"] += [
        {"name": "relu1", "kind": "activation", "shape": None, "stride": None, "bound": 1.0},
        {"name": "pool2", "kind": "max_pool", "shape": None, "stride": [2, 1], "bound": 1.0},
    ]
    validate_document(document)
    lines = _table_lines(render_markdown(document), "Table 5:")
    assert r"| relu1 | — | — | — \| 1.00 \| — |" in lines
    assert r"| pool2 | — | 2×1 | — \| 1.00 \| — |" in lines


def test_table5_without_alexnet_shows_the_paper_alone(small_document):
    absent = render_markdown(small_document)
    assert "Not computed in this run." in absent
    assert len(_table_lines(absent, "Table 5:")) == 2 + 8 + 1


def test_ranking_by_mean_min_distortion(document):
    lines = _table_lines(render_markdown(document), "Ranking")
    assert [line.split(" | ")[2] for line in lines[2:]] == ["my_cnn", "fc100_100_10_p1", "fc10_wd1e-4", "fc100_100_10"]
    assert lines[2] == "| 1 | My CNN | my_cnn | submission | conv 32-64, dense 10 | 0.9 | 0.090 | [0.086, 0.094] | 0.088 | 100 | 10 |"
    assert lines[5].startswith("| — | FC100-100-10 | fc100_100_10 |")
    by_train = _table_lines(render_markdown(document, ranking_split="train"), "Ranking")
    assert [line.split(" | ")[2] for line in by_train[2:4]] == ["fc10_wd1e-4", "fc100_100_10"]


def test_header_and_figures(document):
    markdown = render_markdown(document, figures=[("Table 2 heatmap", "figures/table2.png")])
    assert markdown.startswith("# Leaderboard: mnist-test\n")
    assert "fingerprint `mnist-1234abcd`" in markdown
    assert "![Table 2 heatmap](figures/table2.png)" in markdown


@pytest.mark.parametrize("value, unit, signed, text", [
    (0.0164, "percent", False, "1.64"), (1.0, "percent", False, "100"), (-0.00001, "percent", True, "+0"),
    (0.004, "percent", True, "+0.4"), (-0.002, "percent", True, "-0.2"), (None, "percent", False, "—"),
    (float("nan"), "distortion", False, "—"), (0.1, "distortion", False, "0.100"), (-0.0031, "distortion", True, "-0.003"),
    (2.75, "bound", False, "2.75"),
])
def test_format_value(value, unit, signed, text):
    assert format_value(value, unit, signed=signed) == text


def test_difference_is_ours_minus_paper():
    assert format_comparison(Comparison(0.074, 0.081, "percent")) == ("7.4", "8.1", "+0.7")
    assert format_comparison(Comparison(None, 0.081, "percent")) == ("—", "8.1", "—")
