"""The scorer contract as the renderers see it: tables come from the scorers, with the run's settings."""

import dataclasses
import sys
import types

from robustbench_keras import scorers
from robustbench_keras.leaderboard import render_markdown
from robustbench_keras.paper import load_baselines
from robustbench_keras.scorers.cells import Comparison, Table
from robustbench_keras.leaderboard.tables import build_tables


def _rows(markdown, title):
    section = markdown.split(f"## {title}")[1].split("\n## ")[0]
    return [line for line in section.splitlines() if line.startswith("| ")][1:]


def test_every_scorer_follows_the_contract():
    for name in scorers.SCORER_NAMES:
        module = scorers.get(name)
        assert module.NAME == name
        assert dataclasses.is_dataclass(module.Settings) and callable(module.run) and callable(module.tables)


def test_tables_read_the_splits_the_run_recorded(document):
    document["scorers"] = {"min_distortion": {"table1_split": "test"}}
    rows = _rows(render_markdown(document), "Table 1")
    fc10 = next(row for row in rows if row.startswith("| FC10(1e-4) "))
    assert "0.062 \\| 0.060 \\| -0.002" in fc10  # the test summary (0.0602), not the train one (0.0651)
    assert "Ranking by mean minimal distortion (test sample)" in render_markdown(document)


def test_another_dataset_shows_no_paper_columns(document):
    document["data_fingerprint"]["dataset"] = "fashion_mnist"
    markdown = render_markdown(document)
    rows = _rows(markdown, "Table 1")
    assert [row.split(" | ")[0] for row in rows] == ["| FC10(1e-4)", "| FC100-100-10", "| My CNN"]
    assert all("\\|" not in row for row in rows)  # ours only, no paper | ours | difference
    assert "| FC10(1e-4) | 7.1 | 7.5 | 0.065 | 95 |" in rows
    assert "The paper reports no fashion_mnist results" in markdown and "Paper values" not in markdown
    del document["table5"]
    assert "Table 5" not in render_markdown(document)  # neither the paper's nor ours


def test_property_1_results_get_their_table(document):
    layer = {"layer": "hidden_2", "distinguishable": False, "chance": {"purity": 0.19},
             "unit": {"purity": {"mean": 0.5, "ci95": [0.4, 0.6]}, "pixel_similarity": None,
                      "reference_similarity": None},
             "random": {"purity": {"mean": 0.52, "ci95": [0.41, 0.63]}, "pixel_similarity": None,
                        "reference_similarity": None},
             "tests": {"purity": {"p_value": 0.71}}}
    document["entries"][1]["unit_semantics"] = {"settings": {}, "layers": {"hidden_2": layer}}
    rows = _rows(render_markdown(document), "Property 1")
    assert rows == ["| FC100-100-10 | hidden_2 | 0.500 [0.400, 0.600] vs 0.520 [0.410, 0.630], p=0.71 | — | — | "
                    "0.190 | no |"]


def test_a_new_scorer_is_one_module_and_one_registry_line(document, monkeypatch):
    module = types.ModuleType("robustbench_keras.scorers.robust_accuracy")

    @dataclasses.dataclass(frozen=True)
    class Settings:
        epsilon: float = 0.1

    def tables(document, baselines, settings):
        rows = tuple((e["id"], Comparison(None, e.get("robust_accuracy"), "percent")) for e in document["entries"])
        return [Table("robust_accuracy", f"Robust accuracy at epsilon {settings.epsilon:g}", "", ("Model", "Accuracy (%)"),
                      rows, has_paper=False)]

    module.NAME, module.Settings, module.run, module.tables = "robust_accuracy", Settings, lambda s, c: None, tables
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(scorers, "SCORER_NAMES", scorers.SCORER_NAMES + ("robust_accuracy",))
    document["scorers"] = {"min_distortion": {}, "robust_accuracy": {"epsilon": 0.3}}
    document["entries"][0]["robust_accuracy"] = 0.25
    keys = [table.key for table in build_tables(document, load_baselines())]
    assert keys == ["table1", "table3", "robust_accuracy"]
    assert "| fc10_wd1e-4 | 25 |" in _rows(render_markdown(document), "Robust accuracy at epsilon 0.3")
