"""The unit_semantics scorer's table: Property 1 per model and layer, units against random directions."""

from robustbench_keras.scorers.cells import Table, display_names


def property1_table(document, baselines, name, measures):
    """Property 1: per model and layer, each measure (`measures`) for units against random directions, and the
    verdict, from the entries' `name` sections."""
    names = display_names(document, baselines)
    rows = []
    for entry in document["entries"]:
        result = entry.get(name) or {}
        if "error" in result:
            rows.append((names.get(entry["id"], entry["id"]), "—", result["error"], "", "", "", ""))
        for layer in result.get("layers", {}).values():
            cells = [_measure_cell(layer, measure) for measure in measures]
            verdict = "yes" if layer["distinguishable"] else "no"
            rows.append((names.get(entry["id"], entry["id"]), layer["layer"], *cells,
                         f"{layer['chance']['purity']:.3f}", verdict))
    return Table(
        name, "Property 1: units against random directions (Section 3)",
        "Top-k held-out images per direction; each cell: unit mean [95% CI] vs random mean [95% CI], two-sided "
        "Mann-Whitney U p-value. Distinguishable: any measure differs at the Bonferroni-corrected level "
        "(the paper: random directions are not distinguishable from units).",
        ("Model", "Layer", "Label purity", "Pixel similarity", "Reference similarity", "Purity by chance",
         "Distinguishable"), tuple(rows), has_paper=False,
    )


def _measure_cell(layer, measure):
    unit, random = layer["unit"].get(measure), layer["random"].get(measure)
    if unit is None or random is None:
        return "—"
    interval = "{mean:.3f} [{ci95[0]:.3f}, {ci95[1]:.3f}]"
    return (f"{interval.format(**unit)} vs {interval.format(**random)}, "
            f"p={layer['tests'][measure]['p_value']:.2g}")
