"""What a removed entry leaves behind: its transfer cells in other rows, its submitted copy and records."""

from robustbench_keras.leaderboard.store import validate_document
from robustbench_keras.pipeline.cleanup import delete_files, entry_files, without_entry


def _errors_on_keys(node):
    if isinstance(node, dict):
        yield from node.get("errors_on", {}) if isinstance(node.get("errors_on"), dict) else ()
        for value in node.values():
            yield from _errors_on_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _errors_on_keys(item)


def test_without_entry_drops_its_row_and_every_column(document):
    assert "my_cnn" in set(_errors_on_keys(document))
    row = document["entries"][0]["transfer"]
    row["errors_on_ci"] = {model: [0.0, 1.0] for model in row["errors_on"]}
    ids = [entry["id"] for entry in document["entries"]]
    changed = without_entry(document, "my_cnn")
    assert [entry["id"] for entry in changed["entries"]] == [entry_id for entry_id in ids if entry_id != "my_cnn"]
    assert "my_cnn" not in set(_errors_on_keys(changed))  # transfer rows and noise controls alike
    assert changed["entries"][0]["transfer"]["errors_on"] == {"fc10_wd1e-4": 1.0, "fc100_100_10": 0.031}
    assert set(changed["entries"][0]["transfer"]["errors_on_ci"]) == {"fc10_wd1e-4", "fc100_100_10"}
    validate_document(changed)


def test_entry_files_are_its_copy_and_records_never_outside_the_records_folder(document, tmp_path):
    entry = document["entries"][0]
    entry["source"] = "submission"
    (tmp_path / "records" / "4").mkdir(parents=True)
    (tmp_path / "records" / "4" / "chunk_0000.npz").write_bytes(b"")
    entry["min_distortion"]["test"]["records"]["path"] = "../../outside.npz"
    files = entry_files(entry, tmp_path)
    assert files == [tmp_path / "submissions" / "fc10_wd1e-4.keras", tmp_path / "records" / "4.npz",
                     tmp_path / "records" / "4" / "chunk_0000.npz"]
    delete_files(files)
    assert not (tmp_path / "records" / "4").exists() and (tmp_path / "records").is_dir()
