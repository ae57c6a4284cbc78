"""The tables of a leaderboard document, as the scorers that ran describe them, and the ranking.

Each scorer's `tables(document, baselines, settings)` lays out its own rows (Tables 1-5 of Szegedy
et al. 2014, Property 1); this module only asks them in run order, with the settings the run
recorded, and ranks the entries. The paper's values are passed only to a document of the paper's
dataset (`cells.baselines_for`).
"""

from robustbench_keras import scorers
from robustbench_keras.scorers.cells import DASH, Table, baselines_for, format_value, lookup
from robustbench_keras.settings import build_settings

# The paper's tables come in the paper's order; any other table follows, in scorer run order.
PAPER_ORDER = ("table1", "table2", "table3", "table4", "table4_magnified", "table5")


def scorer_settings(document):
    """{scorer name: its Settings} as the run recorded them; every scorer's defaults for an older document."""
    recorded = document.get("scorers")
    if recorded is None:
        return {name: scorers.get(name).Settings() for name in scorers.SCORER_NAMES}
    return {name: build_settings(scorers.get(name).Settings, raw, f"leaderboard: scorers.{name}")
            for name, raw in recorded.items()}


def ranking_split(document):
    """The split the ranking uses: the run's Table 1 split (a training sample, as in the paper); "test"
    for a document that recorded no scorer settings, or no min_distortion."""
    settings = (document.get("scorers") or {}).get("min_distortion")
    return scorer_settings(document)["min_distortion"].table1_split if settings is not None else "test"


def build_tables(document, baselines):
    """Every scorer's tables, in run order.

    Args:
        document: a valid leaderboard document.
        baselines: `load_baselines()`, or None for no paper values.

    Returns:
        A list of `cells.Table`, the paper's in its order (`PAPER_ORDER`); tables without rows are left out.
    """
    baselines = baselines_for(document, baselines)
    tables = []
    for name, settings in scorer_settings(document).items():
        tables += [table for table in scorers.get(name).tables(document, baselines, settings) if table.rows]
    rank = {key: position for position, key in enumerate(PAPER_ORDER)}
    return sorted(tables, key=lambda table: rank.get(table.key, len(PAPER_ORDER)))


def build_ranking(document, split="test"):
    """Entries ranked by mean minimal distortion on `split`, largest (most robust) first.

    Entries without that statistic follow, unranked, in document order.

    Returns:
        A `Table` of text cells with key "ranking".
    """
    def mean(entry):
        return lookup(entry, "min_distortion", split, "mean")

    ranked = sorted((e for e in document["entries"] if mean(e) is not None), key=lambda e: -mean(e))
    unranked = [e for e in document["entries"] if mean(e) is None]
    rows = []
    for position, entry in enumerate(ranked + unranked, start=1):
        summary = lookup(entry, "min_distortion", split) or {}
        low, high = summary.get("ci95") or (None, None)
        rows.append((
            str(position) if mean(entry) is not None else DASH,
            entry["paper_name"] or lookup(entry, "submission", "name") or entry["id"],
            entry["id"], entry["source"], entry["architecture"],
            format_value(lookup(entry, "clean_errors", "test"), "percent"),
            format_value(summary.get("mean"), "distortion"),
            f"[{format_value(low, 'distortion')}, {format_value(high, 'distortion')}]" if summary else DASH,
            format_value(summary.get("median"), "distortion"),
            format_value(summary.get("success_rate"), "percent"),
            str(summary["n"]) if summary else DASH,
        ))
    return Table(
        "ranking", f"Ranking by mean minimal distortion ({split} sample)",
        "Larger mean minimal distortion = harder to fool. Entries without a "
        f"{split} distortion summary are listed unranked.",
        ("Rank", "Model", "Id", "Source", "Architecture", "Test error (%)", "Mean min. distortion", "95% CI",
         "Median", "Success rate (%)", "n"),
        tuple(rows), has_paper=False,
    )


def legend(document, baselines):
    """How to read the cells: paper | ours | difference, or ours only on a dataset the paper did not use."""
    units = "errors and rates in %, distortions as per-pixel RMS with pixels in [0, 1]; — where there is no value."
    if baselines_for(document, baselines) is None:
        return f"The paper reports no {document['data_fingerprint']['dataset']} results: cells show this run's; {units}"
    return f"Each comparison cell reads paper | ours | ours − paper; {units}"


def paper_note(document, baselines):
    """Where the paper's values come from, or None when none are shown."""
    baselines = baselines_for(document, baselines)
    return None if baselines is None else f"Paper values: {baselines['source']['paper']} arXiv {baselines['source']['arxiv']}."
