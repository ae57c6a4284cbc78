"""Writes a run's human-readable outputs: Markdown tables, the HTML page and the figures.

`write_reports` draws every figure the scorers describe and lists them in `figures/figures.json`;
`publish_reports` renders the leaderboard on disk under a lock, as every command does.
`rewrite_reports` re-renders after an entry left the leaderboard, without scoring: the figures drawn
from the document alone (the transfer heatmaps) are redrawn, the figures of the entries still listed
are kept, and the rest (the removed entries' own figures, and shared figures that need attack records,
such as the distortion histograms, until the next `run` or `submit` redraws them) are deleted. Every
render deletes the figures the previous one listed and it does not, so no stale figure stays behind.
"""

import json
from pathlib import Path

import filelock

from robustbench_keras import scorers
from robustbench_keras.atomic import atomic_write_text
from robustbench_keras.errors import LeaderboardError
from robustbench_keras.leaderboard.html import render_html
from robustbench_keras.leaderboard.markdown import render_markdown
from robustbench_keras.leaderboard.store import LOCK_TIMEOUT_S, load_leaderboard
from robustbench_keras.scorers.context import ScoringContext

FIGURE_LIST_NAME = "figures.json"


def publish_reports(output, context=None, removed_ids=()):
    """Renders the leaderboard now in `output` under the reports lock, so concurrent commands render in
    turn and the last render shows every entry, whoever wrote it.

    Args:
        output: the leaderboard's folder.
        context: the `ScoringContext` of the command that just scored (`write_reports`); None re-renders
            without scoring (`rewrite_reports`).
        removed_ids: the entries that just left the leaderboard.

    Returns:
        {output name: path} of what was written.

    Raises:
        LeaderboardError: the leaderboard is missing or corrupt, or the lock was not acquired in time.
    """
    output = Path(output)
    lock = filelock.SoftFileLock(output / "reports.lock", timeout=LOCK_TIMEOUT_S)
    try:
        with lock:
            document = load_leaderboard(output / "leaderboard.json")
            if context is None:
                return rewrite_reports(document, output, removed_ids)
            return write_reports(document, output, context)
    except filelock.Timeout:
        raise LeaderboardError(f"{lock.lock_file}: another command has been rendering the reports for "
                               f"{LOCK_TIMEOUT_S:g} s (if none is running, delete the lock file)") from None


def write_reports(document, output, context):
    """Writes `tables.md`, `index.html`, `figures/*.png` and the figure list into `output`.

    The figures the previous render listed for entries this run did not score (`context.scored`) are kept.

    Args:
        document: the valid leaderboard document.
        output: the run's output folder.
        context: the `ScoringContext` of the run (samples, attack records, Property-1 images).

    Returns:
        {output name: path} of what was written.
    """
    output = Path(output)
    return _render(document, output, _figure_list_with(document, output, write_figures(document, output, context),
                                                       stale_ids=context.scored))


def rewrite_reports(document, output, removed_ids=()):
    """Re-renders `tables.md`, `index.html` and the figures of `document` without scoring (see above).

    Args:
        document: the valid leaderboard document, without the removed entries.
        output: the leaderboard's folder.
        removed_ids: the entries that left, so that "my_mlp"'s figures are not taken for those of "my".

    Returns:
        {output name: path} of what was written.
    """
    output = Path(output)
    drawn = write_figures(document, output, ScoringContext(None, None, {}, {}, output))
    return _render(document, output, _figure_list_with(document, output, drawn, stale_ids=removed_ids))


def _figure_list_with(document, output, drawn, stale_ids):
    """The previous render's figure list with `drawn` in place (new ones last), keeping the previous
    figures of the document's entries unless they are in `stale_ids` (re-scored or removed)."""
    drawn = {path: caption for caption, path in drawn}
    ids = [entry["id"] for entry in document["entries"]]
    candidates = ids + [entry_id for entry_id in stale_ids if entry_id not in ids]
    figure_list = []
    for caption, path in _figure_list(output):
        owner = figure_owner(Path(path).name, candidates)
        if path in drawn:
            figure_list.append((drawn.pop(path), path))
        elif owner in ids and owner not in stale_ids and (output / path).is_file():
            figure_list.append((caption, path))
    return figure_list + [(caption, path) for path, caption in drawn.items()]


def figure_owner(file_name, ids):
    """The entry a figure file is about (`<kind>_<id>.png` or `<kind>_<id>_<part>.png`), or None if shared.

    The longest matching id wins, so "directions_my_mlp_dense.png" belongs to "my_mlp", not "my".
    """
    rest = Path(file_name).stem.partition("_")[2]
    matching = [entry_id for entry_id in ids if rest == entry_id or rest.startswith(f"{entry_id}_")]
    return max(matching, key=len, default=None)


def write_figures(document, output, context):
    """Draws every figure the scorers describe; returns (caption, path relative to `output`) pairs."""
    folder = Path(output) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in document.get("scorers", {}):
        for caption, file_name, draw, args in getattr(scorers.get(name), "figures", lambda *_: [])(document, context):
            draw(folder / file_name, *args)
            written.append((caption, f"figures/{file_name}"))
    return written


def _render(document, output, figure_list):
    """Writes the tables, the page and the figure list; deletes the figures the last render listed and
    this one does not (a removed or replaced entry's, a shared one that cannot be redrawn)."""
    listed = {path for _, path in figure_list}
    for _, path in _figure_list(output):
        if path not in listed:
            (output / path).unlink(missing_ok=True)
    tables = output / "tables.md"
    page = output / "index.html"
    atomic_write_text(tables, render_markdown(document, figures=figure_list))
    atomic_write_text(page, render_html(document, figures=figure_list))
    items = [{"caption": caption, "path": path} for caption, path in figure_list]
    atomic_write_text(output / "figures" / FIGURE_LIST_NAME, json.dumps(items, indent=1) + "\n")
    return {"tables": tables, "page": page, "figures": output / "figures"}


def _figure_list(output):
    """The (caption, path) pairs the last render listed (paths inside `figures/` only); none if it left no list."""
    path = Path(output) / "figures" / FIGURE_LIST_NAME
    try:
        listed = [(item["caption"], item["path"]) for item in json.loads(path.read_text("utf-8"))]
    except (OSError, ValueError, TypeError, KeyError):
        return []
    return [(caption, path) for caption, path in listed
            if isinstance(path, str) and Path(path).parent == Path("figures")
            and Path(path).name not in ("", "..", FIGURE_LIST_NAME)]
