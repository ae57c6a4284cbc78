"""A static, self-contained HTML page of a leaderboard: Tables 1-5 beside the paper's, and figures.

Szegedy et al. 2014 (arXiv 1312.6199). One file with inline CSS, no JavaScript and nothing fetched
from the network; figures are relative `<img>` links to PNGs beside the page.
"""

from html import escape

from robustbench_keras.paper import load_baselines
from robustbench_keras.scorers.cells import Comparison, format_comparison, format_value
from robustbench_keras.leaderboard.tables import build_ranking, build_tables, legend, paper_note
from robustbench_keras.leaderboard.tables import ranking_split as default_ranking_split

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 2em; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eee; }
.paper { color: #555; } .ours { font-weight: bold; } .diff { color: #a40; } .sep { color: #aaa; }
section { overflow-x: auto; }
figure { display: inline-block; margin: 0 1em 1em 0; } figcaption { font-size: 0.9em; }
img { max-width: 100%; }
"""


def _cell(cell, has_paper=True):
    if not isinstance(cell, Comparison):
        return f"<td>{escape(str(cell))}</td>"
    if not has_paper:
        return f'<td class="comparison"><span class="ours">{escape(format_value(cell.ours, cell.unit))}</span></td>'
    paper, ours, difference = (escape(text) for text in format_comparison(cell))
    separator = '<span class="sep"> | </span>'
    return (
        f'<td class="comparison"><span class="paper">{paper}</span>{separator}'
        f'<span class="ours">{ours}</span>{separator}<span class="diff">{difference}</span></td>'
    )


def render_table(table):
    """One `tables.Table` as an HTML section with a `<table id=KEY>`."""
    header = "".join(f"<th>{escape(column)}</th>" for column in table.columns)
    body = "\n".join("<tr>" + "".join(_cell(cell, table.has_paper) for cell in row) + "</tr>" for row in table.rows)
    return (
        f'<section><h2>{escape(table.title)}</h2><p>{escape(table.note)}</p>\n'
        f'<table id="{escape(table.key)}"><thead><tr>{header}</tr></thead>\n<tbody>\n{body}\n</tbody></table></section>'
    )


def render_html(document, baselines=None, figures=(), ranking_split=None):
    """The whole leaderboard page.

    Args:
        document: a valid leaderboard document (see `store.load_leaderboard`).
        baselines: the paper's values; None reads the packaged `leaderboard/szegedy2014.json`.
        figures: (caption, relative path) pairs, shown as `<img>` at the end.
        ranking_split: the min-distortion sample the ranking uses; None: the run's Table 1 split.

    Returns:
        The page as a string (UTF-8 HTML5).
    """
    baselines = baselines if baselines is not None else load_baselines()
    ranking_split = ranking_split or default_ranking_split(document)
    suite, data, attack = document["suite"], document["data_fingerprint"], document["attack"]
    software = ", ".join(f"{name} {version}" for name, version in document["software"].items())
    facts = [
        f"Suite <code>{escape(suite['path'])}</code> (sha256 <code>{escape(suite['hash'][:16])}</code>), "
        f"created {escape(document['created_utc'])}",
        f"Data: {escape(data['dataset'])} from {escape(data['source'])}, fingerprint <code>{escape(data['id'])}</code>",
        f"Attack: objective {escape(attack['objective'])}, target policy {escape(attack['target_policy'])}",
        f"Software: {escape(software)}",
    ]
    sections = [render_table(build_ranking(document, ranking_split))]
    sections += [render_table(table) for table in build_tables(document, baselines)]
    if figures:
        images = "\n".join(
            f'<figure><img src="{escape(path)}" alt="{escape(caption)}"><figcaption>{escape(caption)}</figcaption></figure>'
            for caption, path in figures
        )
        sections.append(f'<section id="figures"><h2>Figures</h2>\n{images}</section>')
    note = paper_note(document, baselines)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Leaderboard: {escape(suite['name'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Leaderboard: {escape(suite['name'])}</h1>",
        "<ul>" + "".join(f"<li>{fact}</li>" for fact in facts) + "</ul>",
        f"<p>{escape(legend(document, baselines))}</p>",
        *sections,
        *([f"<p>{escape(note)}</p>"] if note else []),
        "</body></html>",
        "",
    ])
