"""Writes a run's human-readable outputs: Markdown tables, the HTML page and the figures."""

from pathlib import Path

from robustbench_keras import scorers
from robustbench_keras.atomic import atomic_write_text
from robustbench_keras.leaderboard.html import render_html
from robustbench_keras.leaderboard.markdown import render_markdown


def write_reports(document, output, context):
    """Writes `tables.md`, `index.html` and `figures/*.png` into `output`.

    Args:
        document: the valid leaderboard document.
        output: the run's output folder.
        context: the `ScoringContext` of the run (samples, attack records, Property-1 images).

    Returns:
        {output name: path} of what was written.
    """
    output = Path(output)
    figure_list = write_figures(document, output, context)
    tables = output / "tables.md"
    page = output / "index.html"
    _write_text(tables, render_markdown(document, figures=figure_list))
    _write_text(page, render_html(document, figures=figure_list))
    return {"tables": tables, "page": page, "figures": output / "figures"}


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


def _write_text(path, text):
    atomic_write_text(path, text)
