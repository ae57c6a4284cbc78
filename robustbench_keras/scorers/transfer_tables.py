"""The transfer scorer's tables: Tables 2 and 4 (and Table 4's magnified block) paper beside ours, each
matrix with its 95% intervals, and the error matrices the heatmaps draw."""

import math

import numpy as np

from robustbench_keras.scorers.cells import DASH, Comparison, Table, display_names, lookup, paper_rows, row_ids
from robustbench_keras.scorers.min_distortion import paper_table

NAME = "transfer"


def transfer_table(entry):
    """The transfer table of a JSON entry: its row's own, else that of its paper table (P1/P2 models: "table4")."""
    return lookup(entry, NAME, "table") or ("table4" if paper_table(entry["train_split"]) == "table3" else "table2")


def matrix(document, table="table2", magnified=False, names=None):
    """The error matrix of Table 2 or 4 from a leaderboard document, for a heatmap.

    Returns:
        (errors float (rows, columns) with NaN where missing, row labels, column labels): rows are the
        entries whose transfer row belongs to `table`, then the Gaussian-noise control rows; columns
        the row models, then any other model fed; models labelled by `names` (default: display names).
    """
    names = names if names is not None else display_names(document, None)
    rows = [e for e in document["entries"] if lookup(e, NAME, "table") == table]
    sources = [(lookup(e, NAME, "magnified", "errors_on") if magnified else lookup(e, NAME, "errors_on")) or {}
               for e in rows]
    controls = lookup(document, "controls", f"{table}_magnified" if magnified else table) or []
    sources += [control["errors_on"] for control in controls]
    columns = [e["id"] for e in rows]
    for errors_on in sources:
        columns += [model for model in errors_on if model not in columns]
    errors = np.array([[source.get(model, np.nan) for model in columns] for source in sources], dtype=np.float64)
    row_labels = [names.get(e["id"], e["id"]) for e in rows] + [control["label"] for control in controls]
    return errors.reshape(len(sources), len(columns)), row_labels, [names.get(c, c) for c in columns]


def tables(document, baselines, settings):
    """Table 2, Table 4 and Table 4's magnified block, paper beside ours; then each matrix with its CIs."""
    drawn = [_transfer_table(document, baselines, "table2"), _transfer_table(document, baselines, "table4"),
             _transfer_table(document, baselines, "table4", magnified=True)]
    return drawn + [table for key in ("table2", "table4") if (table := _interval_table(document, baselines, key))]


def _interval_table(document, baselines, key):
    """Our transfer errors of `key`'s rows with their 95% Wilson intervals; None if no row has them."""
    rows = [e for e in document["entries"] if lookup(e, NAME, "table") == key and lookup(e, NAME, "errors_on_ci")]
    if not rows:
        return None
    names = display_names(document, baselines)
    columns = [e["id"] for e in rows]
    for entry in rows:
        columns += [model for model in entry[NAME]["errors_on"] if model not in columns]

    def cell(transfer, model):
        interval = transfer["errors_on_ci"].get(model)
        if interval is None:
            return DASH
        return f"{100 * transfer['errors_on'][model]:.1f} [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"

    body = tuple((names.get(e["id"], e["id"]), *(cell(e[NAME], c) for c in columns), str(e[NAME]["num_examples"]))
                 for e in rows)
    title = "Table 2" if key == "table2" else "Table 4"
    return Table(f"{key}_ci", f"{title} with 95% confidence intervals",
                 "Error (%) each model makes on the row model's successful adversarials, with the 95% Wilson "
                 "score interval of that proportion over the row's n adversarials.",
                 ("Generated for / error on (%)", *(names.get(c, c) for c in columns), "n"), body, has_paper=False)


def _controls(paper_controls, our_controls, columns):
    """Gaussian-noise rows: the paper's matched to ours by stddev, then ours the paper lacks."""
    rows, used = [], set()
    for reference in paper_controls:
        match = next((i for i, c in enumerate(our_controls) if math.isclose(c["stddev"], reference["stddev"])), None)
        used.add(match)
        rows.append((reference, our_controls[match] if match is not None else {}))
    rows += [({}, control) for i, control in enumerate(our_controls) if i not in used]
    return tuple(
        (ours.get("label") or reference["label"],
         *(Comparison(lookup(reference, "errors_on", c), lookup(ours, "errors_on", c), "percent") for c in columns),
         Comparison(reference.get("distortion_rms"), ours.get("distortion_rms"), "distortion"))
        for reference, ours in rows
    )


def _transfer_table(document, baselines, key, magnified=False):
    part = "magnified" if magnified else None
    paper = {row["model"]: row for row in paper_rows(baselines, key, part)}
    columns = list(lookup(baselines, key, "columns") or [])
    columns += [e["id"] for e in document["entries"] if e["id"] not in columns and transfer_table(e) == key]
    entries = {entry["id"]: entry for entry in document["entries"]}
    names = display_names(document, baselines)
    rows = []
    for model in row_ids(document, paper_rows(baselines, key, part), lambda e: transfer_table(e) == key):
        transfer = lookup(entries.get(model), NAME)
        ours = lookup(transfer, "magnified") if magnified else transfer
        if lookup(transfer, "table") != key:
            ours = None
        reference = paper.get(model, {})
        rows.append((
            names.get(model, model),
            *(Comparison(lookup(reference, "errors_on", c), lookup(ours, "errors_on", c), "percent") for c in columns),
            Comparison(reference.get("distortion_mean"), lookup(ours, "distortion_rms_mean"), "distortion"),
        ))
    paper_controls = (lookup(baselines, key, part) if magnified else lookup(baselines, key)) or {}
    control_key = f"{key}_magnified" if magnified else key
    rows += _controls(paper_controls.get("controls", []), lookup(document, "controls", control_key) or [], columns)
    header = ("Generated for / error on (%)", *(names.get(c, c) for c in columns), "Av. distortion")
    title, note = _describe(document, key, magnified)
    return Table(control_key, title, note, header, tuple(rows), has_paper=baselines is not None)


def _describe(document, key, magnified):
    if key == "table2":
        return ("Table 2: cross-model generalisation of adversarial examples",
                "Error each model makes on the adversarial examples generated for the row's model (the "
                "diagonal counts successful adversarials only), and Gaussian-noise control rows.")
    if magnified:
        modes = sorted({lookup(e, NAME, "magnified", "mode") for e in document["entries"]} - {None})
        return ("Table 4 (continued): adversarial examples magnified to stddev 0.1",
                f"Perturbations rescaled before transfer (mode: {', '.join(modes) or DASH}; 'rms' rescales each "
                "to per-pixel RMS 0.1, 'literal' applies the paper's x + 0.1(x'-x)/||x'-x||).")
    return ("Table 4: cross-training-set generalisation (P1 / P2 models)",
            "Error each P1/P2 model makes on the adversarial examples generated for the row's model.")
