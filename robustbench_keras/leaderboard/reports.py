"""Writes a run's human-readable outputs: Markdown tables, the HTML page and the figures."""

from pathlib import Path

import numpy as np

from robustbench_keras.leaderboard import direction_grids, figures
from robustbench_keras.leaderboard.html import render_html
from robustbench_keras.leaderboard.markdown import render_markdown

NUM_EXAMPLES_SHOWN = 8
# Table 1/2 models are attacked on a training sample, as in the paper, so the ranking uses it.
RANKING_SPLIT = "train"


def write_reports(document, output, results):
    """Writes `tables.md`, `index.html` and `figures/*.png` into `output`.

    Args:
        document: the valid leaderboard document.
        output: the run's output folder.
        results: the run's `ScoringResults` (samples, attack records, Property-1 top-k indices).

    Returns:
        {output name: path} of what was written.
    """
    output = Path(output)
    figure_list = write_figures(document, output, results)
    tables = output / "tables.md"
    page = output / "index.html"
    _write_text(tables, render_markdown(document, figures=figure_list, ranking_split=RANKING_SPLIT))
    _write_text(page, render_html(document, figures=figure_list, ranking_split=RANKING_SPLIT))
    return {"tables": tables, "page": page, "figures": output / "figures"}


def write_figures(document, output, results):
    """Draws every figure the run has data for; returns (caption, path relative to `output`) pairs."""
    folder = Path(output) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def add(caption, name, draw, *args, **kwargs):
        draw(folder / name, *args, **kwargs)
        written.append((caption, f"figures/{name}"))

    entries = {entry["id"]: entry for entry in document["entries"]}
    distortions = {}
    for model_id, records in results.records.items():
        split = next(iter(entries[model_id]["min_distortion"]))
        x, y = results.samples[split]
        shown = np.flatnonzero(records.success)[:NUM_EXAMPLES_SHOWN]
        distortions[model_id] = records.distortion_rms[records.success]
        if len(shown):
            add(f"Adversarial examples for {model_id} (original, perturbation ×10, adversarial)",
                f"adversarial_{model_id}.png", figures.plot_adversarial_examples,
                x[shown], records.x_adv[shown], y[shown], records.target[shown])
    if distortions:
        add("Minimal distortion per model (per-pixel RMS)", "distortion_histograms.png",
            figures.plot_distortion_histograms, distortions)
    for table, magnified, title in (("table2", False, "Table 2"), ("table4", False, "Table 4"),
                                    ("table4", True, "Table 4, magnified")):
        errors, row_labels, column_ids = figures.transfer_matrix(document, table, magnified=magnified)
        if len(column_ids):
            name = f"transfer_{table}{'_magnified' if magnified else ''}.png"
            add(f"{title}: error (%) of adversarial examples across models", name,
                figures.plot_transfer_matrix, errors, row_labels, column_ids, title)
    for model_id, entry in entries.items() if results.held_out_images is not None else ():
        for layer_name, layer_result in entry.get("unit_semantics", {}).get("layers", {}).items():
            add(f"Property 1, {model_id} layer {layer_name}: units (left) and random directions (right)",
                f"directions_{model_id}_{layer_name}.png", direction_grids.save_layer_grid,
                results.held_out_images, layer_result, title=f"{model_id}, layer {layer_name}")
    return written


def _write_text(path, text):
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
