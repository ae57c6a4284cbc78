"""The paper's values in leaderboard/szegedy2014.json (package data), checked against the tables as printed (in %)."""

import json
from importlib import resources

import pytest

from robustbench_keras.errors import LeaderboardError
from robustbench_keras.paper import load_baselines

TABLE2_IDS = ["fc10_wd1e-4", "fc10_wd1e-2", "fc10_wd1", "fc100_100_10", "fc200_200_10", "ae400_10"]
TABLE4_IDS = ["fc100_100_10_p1", "fc123_456_10_p1", "fc100_100_10_p2"]

# Copied from the paper's tables, percent as printed.
TABLE1 = {"fc10_wd1e-4": (6.7, 7.4, 0.062), "fc10_wd1e-2": (10, 9.4, 0.1), "fc10_wd1": (21.2, 20, 0.14),
          "fc100_100_10": (0, 1.64, 0.058), "fc200_200_10": (0, 1.54, 0.065), "ae400_10": (0.57, 1.9, 0.086)}
TABLE2 = {"fc10_wd1e-4": [100, 11.7, 22.7, 2, 3.9, 2.7, 0.062], "fc10_wd1e-2": [87.1, 100, 35.2, 35.9, 27.3, 9.8, 0.1],
          "fc10_wd1": [71.9, 76.2, 100, 48.1, 47, 34.4, 0.14], "fc100_100_10": [28.9, 13.7, 21.1, 100, 6.6, 2, 0.058],
          "fc200_200_10": [38.2, 14, 23.8, 20.3, 100, 2.7, 0.065], "ae400_10": [23.4, 16, 24.8, 9.4, 6.6, 100, 0.086]}
TABLE2_CONTROLS = {0.1: [5.0, 10.1, 18.3, 0, 0, 0.8, 0.1], 0.3: [15.6, 11.3, 22.7, 5, 4.3, 3.1, 0.3]}
TABLE3 = {"fc100_100_10_p1": (0, 2.4, 2, 0.062), "fc123_456_10_p1": (0, 2.5, 2.1, 0.059),
          "fc100_100_10_p2": (2.3, 0, 2.1, 0.058)}
TABLE4 = {"fc100_100_10_p1": [100, 26.2, 5.9, 0.062], "fc123_456_10_p1": [6.25, 100, 5.1, 0.059],
          "fc100_100_10_p2": [8.2, 8.2, 100, 0.058]}
TABLE4_MAGNIFIED = {"fc100_100_10_p1": [100, 98, 43], "fc123_456_10_p1": [96, 100, 22], "fc100_100_10_p2": [27, 50, 100]}
TABLE5 = [("conv1", [3, 11, 11, 96], 4, 2.75), ("conv2", [96, 5, 5, 256], 1, 10), ("conv3", [256, 3, 3, 384], 1, 7),
          ("conv4", [384, 3, 3, 384], 1, 7.5), ("conv5", [384, 3, 3, 256], 1, 11), ("fc1", [9216, 4096], None, 3.12),
          ("fc2", [4096, 4096], None, 4), ("fc3", [4096, 1000], None, 4)]


@pytest.fixture(scope="module")
def baselines():
    return load_baselines()


def test_source_note_names_the_paper(baselines):
    assert baselines["source"]["arxiv"] == "1312.6199"
    assert "fractions" in baselines["source"]["note"]


def test_table1(baselines):
    rows = baselines["table1"]["rows"]
    assert [row["model"] for row in rows] == TABLE2_IDS
    for row in rows:
        train, test, distortion = TABLE1[row["model"]]
        assert row["train_error"] * 100 == pytest.approx(train) and row["test_error"] * 100 == pytest.approx(test)
        assert row["distortion_mean"] == distortion


def test_table2(baselines):
    table = baselines["table2"]
    assert table["columns"] == TABLE2_IDS and [row["model"] for row in table["rows"]] == TABLE2_IDS
    for row in table["rows"]:
        expected = TABLE2[row["model"]]
        assert [row["errors_on"][model] * 100 for model in TABLE2_IDS] == pytest.approx(expected[:6])
        assert row["distortion_mean"] == expected[6]
    for control in table["controls"]:
        expected = TABLE2_CONTROLS[control["stddev"]]
        assert [control["errors_on"][model] * 100 for model in TABLE2_IDS] == pytest.approx(expected[:6])
        assert control["distortion_rms"] == expected[6]
    assert sorted(control["stddev"] for control in table["controls"]) == [0.1, 0.3]


def test_table3(baselines):
    rows = baselines["table3"]["rows"]
    assert [row["model"] for row in rows] == TABLE4_IDS
    for row in rows:
        p1, p2, test, distortion = TABLE3[row["model"]]
        assert [row["p1_error"] * 100, row["p2_error"] * 100, row["test_error"] * 100] == pytest.approx([p1, p2, test])
        assert row["distortion_mean"] == distortion


def test_table4_with_magnified_block(baselines):
    table = baselines["table4"]
    assert table["columns"] == TABLE4_IDS
    for row in table["rows"]:
        assert [row["errors_on"][m] * 100 for m in TABLE4_IDS] + [row["distortion_mean"]] == pytest.approx(
            TABLE4[row["model"]])
    [control] = table["controls"]
    assert control["stddev"] == 0.06
    assert [control["errors_on"][m] * 100 for m in TABLE4_IDS] == pytest.approx([2.2, 2.6, 2.4])
    magnified = table["magnified"]
    assert magnified["stddev"] == 0.1
    for row in magnified["rows"]:
        assert [row["errors_on"][m] * 100 for m in TABLE4_IDS] == pytest.approx(TABLE4_MAGNIFIED[row["model"]])
    [control] = magnified["controls"]
    assert control["stddev"] == 0.1
    assert [control["errors_on"][m] * 100 for m in TABLE4_IDS] == pytest.approx([2.6, 2.8, 2.7])


def test_table5(baselines):
    layers = baselines["table5"]["layers"]
    assert baselines["table5"]["model"] == "alexnet"
    assert [(layer["name"], layer["shape"], layer["stride"], layer["bound"]) for layer in layers] == TABLE5


def test_missing_or_corrupt_baselines_are_refused(tmp_path):
    with pytest.raises(LeaderboardError, match="nowhere.json: baselines file not found"):
        load_baselines(tmp_path / "nowhere.json")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{")
    with pytest.raises(LeaderboardError, match="corrupt.json: corrupt baselines file"):
        load_baselines(corrupt)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"schema_version": "1.0", "source": {}, "table1": {"rows": [{"model": "x"}]}}')
    with pytest.raises(LeaderboardError, match=r"wrong.json: \$: 'table2' is a required property"):
        load_baselines(wrong)


def test_the_default_is_the_packaged_file(baselines):
    packaged = resources.files("robustbench_keras.paper").joinpath("szegedy2014.json")
    assert json.loads(packaged.read_text(encoding="utf-8")) == baselines
    with resources.as_file(packaged) as path:
        assert load_baselines(path) == baselines
