"""Markdown report of a leaderboard: Tables 1-5 laid out like the paper's, paper | ours | difference.

Szegedy et al. 2014 (arXiv 1312.6199). Each comparison cell reads `paper | ours | ours − paper`
(pipes escaped for GitHub-flavoured Markdown); errors in percent, distortions per-pixel RMS.
"""

from robustbench_keras.paper import load_baselines
from robustbench_keras.scorers.cells import Comparison, format_comparison, format_value
from robustbench_keras.leaderboard.tables import build_ranking, build_tables, legend, paper_note
from robustbench_keras.leaderboard.tables import ranking_split as default_ranking_split



def _escape(text):
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _cell(cell, has_paper=True):
    if isinstance(cell, Comparison) and not has_paper:
        return _escape(format_value(cell.ours, cell.unit))
    if isinstance(cell, Comparison):
        return " \\| ".join(_escape(text) for text in format_comparison(cell))
    return _escape(cell)


def render_table(table):
    """One `tables.Table` as a Markdown section: heading, note, pipe table."""
    lines = [f"## {table.title}", "", table.note, ""]
    lines.append("| " + " | ".join(_escape(column) for column in table.columns) + " |")
    lines.append("|" + "|".join(["---"] + ["--:"] * (len(table.columns) - 1)) + "|")
    lines += ["| " + " | ".join(_cell(cell, table.has_paper) for cell in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def _header(document, baselines):
    suite, data, attack = document["suite"], document["data_fingerprint"], document["attack"]
    software = ", ".join(f"{name} {version}" for name, version in document["software"].items())
    return "\n".join([
        f"# Leaderboard: {_escape(suite['name'])}",
        "",
        f"- Suite: `{suite['path']}` (sha256 `{suite['hash'][:16]}`), created {document['created_utc']}",
        f"- Data: {data['dataset']} from {data['source']}, fingerprint `{data['id']}`",
        f"- Attack: objective {attack['objective']}, target policy {attack['target_policy']}",
        f"- Software: {software}",
        "",
        _escape(legend(document, baselines)),
        "",
    ])


def render_markdown(document, baselines=None, figures=(), ranking_split=None):
    """The whole Markdown report of a leaderboard document.

    Args:
        document: a valid leaderboard document (see `store.load_leaderboard`).
        baselines: the paper's values; None reads the packaged `leaderboard/szegedy2014.json`.
        figures: (caption, relative path) pairs, shown as images at the end.
        ranking_split: the min-distortion sample the ranking uses; None: the run's Table 1 split.

    Returns:
        The report text.
    """
    baselines = baselines if baselines is not None else load_baselines()
    ranking_split = ranking_split or default_ranking_split(document)
    parts = [_header(document, baselines), render_table(build_ranking(document, ranking_split))]
    parts += [render_table(table) for table in build_tables(document, baselines)]
    if figures:
        parts.append("## Figures\n\n" + "\n\n".join(f"![{_escape(caption)}]({path})" for caption, path in figures) + "\n")
    note = paper_note(document, baselines)
    parts += [_escape(note) + "\n"] if note else []
    return "\n".join(parts)
