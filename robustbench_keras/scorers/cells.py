"""The cells and tables both renderers draw: the paper's value beside ours, formatted one way.

Values are fractions and RMS distortions as stored; percent appears only in `format_value`.
Scorers describe their tables with these types (`scorers.<name>.tables`); `markdown` and `html`
render them.
"""

import collections
import math
from dataclasses import dataclass

DASH = "—"


@dataclass(frozen=True)
class Comparison:
    """One cell: the paper's value, ours, and how to show them.

    Attributes:
        paper: the paper's value, or None where the paper has none.
        ours: this run's value, or None where it was not computed.
        unit: "percent" (a fraction shown in %), "distortion" (RMS) or "bound" (Lipschitz bound).
    """

    paper: float | None
    ours: float | None
    unit: str

    @property
    def difference(self):
        """ours − paper, or None when either is missing."""
        if self.paper is None or self.ours is None:
            return None
        return self.ours - self.paper


@dataclass(frozen=True)
class Table:
    """A rendered table: `rows[i][0]` is the row label, the other cells are `Comparison` or text.

    `has_paper` false: no baseline exists for this table (another dataset), so comparison cells
    show only our value.
    """

    key: str
    title: str
    note: str
    columns: tuple
    rows: tuple
    has_paper: bool = True


def format_value(value, unit, signed=False):
    """Display text of a stored value: fractions as percent (2 decimals at most), others fixed."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    sign = "+" if signed else ""
    if unit == "percent":
        return f"{round(100.0 * value, 2) + 0.0:{sign}g}"  # + 0.0 turns -0.0 into 0
    digits = 3 if unit == "distortion" else 2
    return f"{round(value, digits) + 0.0:{sign}.{digits}f}"


def format_comparison(cell):
    """The three texts (paper, ours, difference) of a `Comparison`."""
    return (
        format_value(cell.paper, cell.unit),
        format_value(cell.ours, cell.unit),
        format_value(cell.difference, cell.unit, signed=True),
    )


def scored_sections(document, name):
    """(entry, its `name` section) for each entry of a leaderboard document that has that section."""
    return [(entry, entry[name]) for entry in document["entries"] if lookup(entry, name)]


def lookup(mapping, *keys):
    """mapping[k1][k2]... or None where any level is missing."""
    for key in keys:
        if not isinstance(mapping, dict) or mapping.get(key) is None:
            return None
        mapping = mapping[key]
    return mapping


def display_names(document, baselines):
    """{model id: name shown in tables and figures}: the paper's names, then each entry's paper or
    submission name; entries that would share a name (e.g. FC100-100-10 on all of MNIST and on P1)
    are told apart by their ids in brackets."""
    names = {row["model"]: row["paper_name"] for key in ("table1", "table3")
             for row in (baselines or {}).get(key, {}).get("rows", [])}
    for entry in document["entries"]:
        if entry["id"] not in names:
            names[entry["id"]] = entry["paper_name"] or lookup(entry, "submission", "name") or entry["id"]
    counts = collections.Counter(names[entry["id"]] for entry in document["entries"])
    for entry in document["entries"]:
        if counts[names[entry["id"]]] > 1:
            names[entry["id"]] = f"{names[entry['id']]} ({entry['id']})"
    return names


def paper_rows(baselines, key, part=None):
    """The paper's rows of table `key` (optionally its `part`, e.g. "magnified"), [] without baselines."""
    table = (baselines or {}).get(key) or {}
    return (table.get(part) or {}).get("rows", []) if part else table.get("rows", [])


def row_ids(document, paper_row_list, belongs):
    """Paper models in paper order, then the other entries for which `belongs(entry)` holds, in document order."""
    ids = [row["model"] for row in paper_row_list]
    return ids + [e["id"] for e in document["entries"] if e["id"] not in ids and belongs(e)]


def baselines_for(document, baselines):
    """The paper's values where they apply: only to a document of the paper's dataset, else None."""
    if baselines is None or document["data_fingerprint"]["dataset"] != baselines.get("dataset", "mnist"):
        return None
    return baselines
