"""Tables 1-5 as neutral data, the paper's value beside ours, for the Markdown and HTML renderers.

Rows follow the paper's order (a paper model this run did not score still shows the paper's value),
then any other entry (submissions, extra zoo models). An entry belongs to the Table 1/2 group or
the Table 3/4 group by its `transfer.table`; without a transfer row, by whether the paper lists
it in Table 3; otherwise Table 1/2. Values are fractions and RMS distortions as stored; percent
appears only in `format_value`.
"""

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
    """A rendered table: `rows[i][0]` is the row label, the other cells are `Comparison` or text."""

    key: str
    title: str
    note: str
    columns: tuple
    rows: tuple


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


def _get(mapping, *keys):
    """mapping[k1][k2]... or None where any level is missing."""
    for key in keys:
        if not isinstance(mapping, dict) or mapping.get(key) is None:
            return None
        mapping = mapping[key]
    return mapping


def _display_names(document, baselines):
    names = {row["model"]: row["paper_name"] for key in ("table1", "table3") for row in baselines[key]["rows"]}
    for entry in document["entries"]:
        if entry["id"] not in names:
            names[entry["id"]] = entry["paper_name"] or _get(entry, "submission", "name") or entry["id"]
    return names


def transfer_table(entry):
    """The transfer table of an entry: its row's own, else "table4" for models trained on P1/P2, else "table2".

    The one rule for grouping models like the paper: the scorers and the rendered tables both use it.
    """
    table = _get(entry, "transfer", "table")
    if table:
        return table
    return "table4" if entry["train_split"] in ("p1", "p2") else "table2"


def _row_ids(document, paper_rows, group):
    """Paper models in paper order, then this group's other entries in document order."""
    ids = [row["model"] for row in paper_rows]
    return ids + [e["id"] for e in document["entries"] if e["id"] not in ids and transfer_table(e) == group]


def _distortion_table(document, baselines, entries, names, key, split, error_columns, title, note, header):
    """Table 1 or Table 3: clean errors per split, then mean minimal distortion and success rate.

    `error_columns` pairs each paper field (e.g. "train_error") with the split of our clean error.
    """
    paper_rows = baselines[key]["rows"]
    paper = {row["model"]: row for row in paper_rows}
    rows = []
    for model in _row_ids(document, paper_rows, "table4" if key == "table3" else "table2"):
        entry, reference = entries.get(model, {}), paper.get(model, {})
        summary = _get(entry, "min_distortion", split)
        rows.append((
            names.get(model, model),
            *(Comparison(reference.get(field), _get(entry, "clean_errors", ours), "percent")
              for field, ours in error_columns),
            Comparison(reference.get("distortion_mean"), _get(summary, "mean"), "distortion"),
            Comparison(None, _get(summary, "success_rate"), "percent"),
        ))
    return Table(key, title, note, header, tuple(rows))


def _table1(document, baselines, entries, names):
    return _distortion_table(
        document, baselines, entries, names, "table1", "train",
        (("train_error", "train"), ("test_error", "test")),
        "Table 1: clean errors and minimal distortion (training-set sample)",
        "Av. min. distortion: mean per-pixel RMS distortion of the successful adversarials over a sample of "
        "the training set; the paper reports no success rate.",
        ("Model", "Train error (%)", "Test error (%)", "Av. min. distortion", "Success rate (%)"),
    )


def _controls(paper_controls, our_controls, columns):
    """Gaussian-noise rows: the paper's matched to ours by stddev, then ours the paper lacks."""
    rows, used = [], set()
    for reference in paper_controls:
        match = next((i for i, c in enumerate(our_controls) if math.isclose(c["stddev"], reference["stddev"])), None)
        ours = our_controls[match] if match is not None else {}
        used.add(match)
        rows.append((reference, ours))
    rows += [({}, control) for i, control in enumerate(our_controls) if i not in used]
    return tuple(
        (ours.get("label") or reference["label"],
         *(Comparison(_get(reference, "errors_on", c), _get(ours, "errors_on", c), "percent") for c in columns),
         Comparison(reference.get("distortion_rms"), ours.get("distortion_rms"), "distortion"))
        for reference, ours in rows
    )


def _transfer(document, baselines, entries, names, key, magnified=False):
    """Table 2 (key "table2") or Table 4 (key "table4", optionally its magnified block)."""
    paper_table = baselines[key]["magnified"] if magnified else baselines[key]
    columns = list(baselines[key]["columns"])
    columns += [e["id"] for e in document["entries"] if e["id"] not in columns and transfer_table(e) == key]
    paper = {row["model"]: row for row in paper_table["rows"]}
    rows = []
    for model in _row_ids(document, paper_table["rows"], key):
        transfer = _get(entries.get(model), "transfer")
        ours = _get(transfer, "magnified") if magnified else transfer
        if _get(transfer, "table") != key:
            ours = None
        reference = paper.get(model, {})
        rows.append((
            names.get(model, model),
            *(Comparison(_get(reference, "errors_on", c), _get(ours, "errors_on", c), "percent") for c in columns),
            Comparison(reference.get("distortion_mean"), _get(ours, "distortion_rms_mean"), "distortion"),
        ))
    control_key = f"{key}_magnified" if magnified else key
    rows += _controls(paper_table["controls"], _get(document, "controls", control_key) or [], columns)
    header = ("Generated for / error on (%)", *(names.get(c, c) for c in columns), "Av. distortion")
    if key == "table2":
        return Table(
            "table2", "Table 2: cross-model generalisation of adversarial examples",
            "Error each model makes on the adversarial examples generated for the row's model (the "
            "diagonal counts successful adversarials only), and Gaussian-noise control rows.",
            header, tuple(rows),
        )
    if magnified:
        modes = sorted({_get(e, "transfer", "magnified", "mode") for e in document["entries"]} - {None})
        return Table(
            "table4_magnified", "Table 4 (continued): adversarial examples magnified to stddev 0.1",
            f"Perturbations rescaled before transfer (mode: {', '.join(modes) or DASH}; 'rms' rescales each "
            "to per-pixel RMS 0.1, 'literal' applies the paper's x + 0.1(x'-x)/||x'-x||).",
            header, tuple(rows),
        )
    return Table(
        "table4", "Table 4: cross-training-set generalisation (P1 / P2 models)",
        "Error each P1/P2 model makes on the adversarial examples generated for the row's model.",
        header, tuple(rows),
    )


def _table3(document, baselines, entries, names):
    return _distortion_table(
        document, baselines, entries, names, "table3", "test",
        (("p1_error", "p1"), ("p2_error", "p2"), ("test_error", "test")),
        "Table 3: models trained on disjoint halves P1 / P2 of the training set",
        "Min. av. distortion: mean per-pixel RMS distortion over a sample of the test set.",
        ("Model", "Error on P1 (%)", "Error on P2 (%)", "Error on test (%)", "Min. av. distortion",
         "Success rate (%)"),
    )


def _size(shape):
    """'3×11×11×96' from a shape list; — for None, [] or [None]."""
    return "×".join(str(n) for n in shape) if shape and None not in shape else DASH


def _table5(document, baselines):
    ours = document.get("table5") or {}
    paper = {layer["name"]: layer for layer in baselines["table5"]["layers"]}
    our_layers = ours.get("layers", [])
    names = [layer["name"] for layer in our_layers]
    layers = [(paper.get(layer["name"], {}), layer) for layer in our_layers]
    layers += [(layer, {}) for name, layer in paper.items() if name not in names]
    rows = []
    for reference, layer in layers:
        size = _size(layer.get("shape") or reference.get("shape"))
        stride = layer.get("stride", reference.get("stride"))
        rows.append((
            layer.get("name") or reference["name"], size, _size(stride if isinstance(stride, list) else [stride]),
            Comparison(reference.get("bound"), layer.get("bound"), "bound"),
        ))
    rows.append(("Product", "", "", Comparison(None, ours.get("product"), "bound")))
    if ours:
        note = f"{ours['model']} with weights {ours['weights']}; bounds computed in {ours['time_s']:.1f} s."
    else:
        note = "Not computed in this run."
    return Table(
        "table5", "Table 5: upper Lipschitz bounds of the AlexNet layers",
        "Size: input channels × kernel height × width × output channels (dense: inputs × outputs). " + note,
        ("Layer", "Size", "Stride", "Upper bound"), tuple(rows),
    )


def _spectral_entries(document, names):
    rows = []
    for entry in document["entries"]:
        spectral = entry.get("spectral")
        if spectral is None:
            continue
        if "layers" in spectral:
            layers = ", ".join(f"{layer['name']} {layer['bound']:.2f}" for layer in spectral["layers"])
            rows.append((names.get(entry["id"], entry["id"]), layers, Comparison(None, spectral["product"], "bound")))
        else:
            rows.append((names.get(entry["id"], entry["id"]), f"unsupported layer {spectral['unsupported_layer']}",
                         Comparison(None, None, "bound")))
    return Table(
        "spectral", "Upper Lipschitz bounds of the benchmark models (Section 4.3)",
        "Per-layer upper bounds and their product; the paper gives none for the MNIST models.",
        ("Model", "Layer bounds", "Product"), tuple(rows),
    )


def build_tables(document, baselines):
    """Tables 1-5 of the paper (Table 4 in two parts) and the models' spectral bounds.

    Args:
        document: a valid leaderboard document.
        baselines: `load_baselines()`.

    Returns:
        A list of `Table`: table1, table2, table3, table4, table4_magnified, table5, and
        spectral when any entry has spectral bounds.
    """
    entries = {entry["id"]: entry for entry in document["entries"]}
    names = _display_names(document, baselines)
    tables = [
        _table1(document, baselines, entries, names),
        _transfer(document, baselines, entries, names, "table2"),
        _table3(document, baselines, entries, names),
        _transfer(document, baselines, entries, names, "table4"),
        _transfer(document, baselines, entries, names, "table4", magnified=True),
        _table5(document, baselines),
    ]
    spectral = _spectral_entries(document, names)
    return tables + ([spectral] if spectral.rows else [])


def build_ranking(document, split="test"):
    """Entries ranked by mean minimal distortion on `split`, largest (most robust) first.

    Entries without that statistic follow, unranked, in document order.

    Returns:
        A `Table` of text cells with key "ranking".
    """
    def mean(entry):
        return _get(entry, "min_distortion", split, "mean")

    ranked = sorted((e for e in document["entries"] if mean(e) is not None), key=lambda e: -mean(e))
    unranked = [e for e in document["entries"] if mean(e) is None]
    rows = []
    for position, entry in enumerate(ranked + unranked, start=1):
        summary = _get(entry, "min_distortion", split) or {}
        low, high = summary.get("ci95") or (None, None)
        rows.append((
            str(position) if mean(entry) is not None else DASH,
            entry["paper_name"] or _get(entry, "submission", "name") or entry["id"],
            entry["id"], entry["source"], entry["architecture"],
            format_value(_get(entry, "clean_errors", "test"), "percent"),
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
        tuple(rows),
    )
