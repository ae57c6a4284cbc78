"""`leaderboard remove NAME`: the entry leaves the leaderboard and every output made from it.

Its row, its column in the other entries' transfer rows and in the noise controls go from
`leaderboard.json` (under the lock); then `tables.md`, `index.html` and the figures are re-rendered
from the new document (`reports.rewrite_reports`), and its submitted copy, attack records and own
figures are deleted.
"""

from pathlib import Path

from robustbench_keras.errors import LeaderboardError
from robustbench_keras.leaderboard import reports
from robustbench_keras.leaderboard.store import update_leaderboard
from robustbench_keras.pipeline.cleanup import delete_files, entry_files, without_entry


def remove_entry(suite, entry_id):
    """Removes `entry_id` from the suite's leaderboard and its outputs.

    Returns:
        The document as written.

    Raises:
        LeaderboardError: no such entry (the message lists the ids), or the leaderboard is missing,
            corrupt or locked; nothing is changed then.
    """
    output = Path(suite.output)
    leaderboard = output / "leaderboard.json"
    removed = []

    def change(document):
        ids = [entry["id"] for entry in document["entries"]]
        if entry_id not in ids:
            raise LeaderboardError(f"{leaderboard}: no entry {entry_id!r}, expected one of: {', '.join(ids) or '(none)'}")
        removed.append(document["entries"][ids.index(entry_id)])
        return without_entry(document, entry_id)

    document = update_leaderboard(leaderboard, change)
    reports.publish_reports(output, removed_ids=[entry_id])
    delete_files(entry_files(removed[0], output))
    return document
