"""Reports re-rendered without scoring: figures kept, redrawn or deleted with the entries they show."""

import json

from robustbench_keras.leaderboard import reports


def test_a_figure_belongs_to_the_longest_matching_entry_id():
    ids = ["my", "my_mlp", "fc10_wd1e-4"]
    assert reports.figure_owner("directions_my_mlp_dense.png", ids) == "my_mlp"
    assert reports.figure_owner("adversarial_my.png", ids) == "my"
    assert reports.figure_owner("adversarial_fc10_wd1e-4.png", ids) == "fc10_wd1e-4"
    assert reports.figure_owner("transfer_table2.png", ids) is None
    assert reports.figure_owner("distortion_histograms.png", ids) is None


def test_rewrite_keeps_the_remaining_entries_figures_redraws_the_heatmaps_and_deletes_the_rest(document, tmp_path):
    document["scorers"] = {"transfer": {}}
    figures = tmp_path / "figures"
    figures.mkdir()
    names = ["adversarial_fc10_wd1e-4.png", "adversarial_my_cnn.png", "distortion_histograms.png"]
    for name in names + ["transfer_table2.png"]:
        (figures / name).write_bytes(b"old")
    listed = [{"caption": name, "path": f"figures/{name}"} for name in names + ["transfer_table2.png"]]
    (figures / reports.FIGURE_LIST_NAME).write_text(json.dumps(listed + [{"caption": "x", "path": "../leaderboard.json"}]))
    (tmp_path / "leaderboard.json").write_text("kept")
    document["entries"] = [entry for entry in document["entries"] if entry["id"] != "my_cnn"]
    reports.rewrite_reports(document, tmp_path, removed_ids=["my_cnn"])
    drawn = sorted(path.name for path in figures.glob("*.png"))
    assert drawn == ["adversarial_fc10_wd1e-4.png", "transfer_table2.png", "transfer_table4.png",
                     "transfer_table4_magnified.png"]
    assert (figures / "transfer_table2.png").read_bytes() != b"old"  # redrawn from the document
    assert (tmp_path / "leaderboard.json").read_text() == "kept"  # a listed path outside figures/ is ignored
    tables = (tmp_path / "tables.md").read_text()
    assert "figures/adversarial_fc10_wd1e-4.png" in tables and "my_cnn" not in tables
    assert [item["path"] for item in json.loads((figures / reports.FIGURE_LIST_NAME).read_text())] == [
        f"figures/{name}" for name in drawn]  # the previous order, then the newly drawn
