"""Leaderboard: entries, schema, validated atomic store, the rendered tables, page and figures.

`store` is the only writer of leaderboard files; `markdown` and `html` render what the scorers
describe (Tables 1-5 of Szegedy et al. 2014, arXiv 1312.6199, as paper | ours | difference);
`reports` writes them with the scorers' figures (drawn by `robustbench_keras.plots`).
"""

from robustbench_keras.leaderboard.html import render_html
from robustbench_keras.leaderboard.markdown import render_markdown
from robustbench_keras.leaderboard.store import (
    SCHEMA_VERSION,
    add_entry,
    load_leaderboard,
    load_schema,
    nan_to_null,
    remove_entry,
    update_leaderboard,
    validate_document,
    write_leaderboard,
)

__all__ = [
    "SCHEMA_VERSION",
    "add_entry",
    "load_leaderboard",
    "load_schema",
    "nan_to_null",
    "remove_entry",
    "render_html",
    "render_markdown",
    "update_leaderboard",
    "validate_document",
    "write_leaderboard",
]
