"""What an entry leaves behind on the leaderboard: its cells in other rows and its files.

Shared by `remove` (leaderboard remove), `submit` (an entry added or replaced) and `run` (zoo rows
rewritten beside submitted entries).
"""

from pathlib import Path

from robustbench_keras.submission import submission_path


def without_entry(document, entry_id):
    """`document` without the entry `entry_id` and without its column in every `errors_on` mapping and
    its interval in every `errors_on_ci` (the transfer rows of the other entries and the noise controls);
    changes and returns `document`."""
    document["entries"] = [entry for entry in document["entries"] if entry["id"] != entry_id]
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in ("errors_on", "errors_on_ci"):
                if isinstance(node.get(key), dict):
                    node[key].pop(entry_id, None)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return document


def entry_files(entry, output):
    """The files of `entry` under `output`: its submitted copy and its attack records with their resumable
    chunks. (Its figures go with the next render of the reports.)"""
    output = Path(output)
    files = [submission_path(output, entry["id"])] if entry["source"] == "submission" else []
    for summary in (entry.get("min_distortion") or {}).values():
        records = output / summary["records"]["path"]
        if records.resolve().parent != (output / "records").resolve():  # never outside the records folder
            continue
        files.append(records)
        files += sorted(records.with_suffix("").glob("chunk_*.npz"))
    return files


def delete_files(paths):
    """Deletes the files (and the chunk folders they leave empty)."""
    for path in paths:
        Path(path).unlink(missing_ok=True)
        if Path(path).parent.name != "records" and Path(path).name.startswith("chunk_"):
            try:
                Path(path).parent.rmdir()
            except OSError:  # not empty yet, or already gone
                pass


def merged_columns(old, new):
    """`new` laid over `old`, mappings merged key by key: the other submissions' columns stay."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    return {**old, **{key: merged_columns(old.get(key), value) for key, value in new.items()}}
