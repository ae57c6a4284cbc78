"""The spheres suite end to end (a smaller smoke suite) against independent references: Imhof's exact error
rate, the quadric oracle, the Theorem 5.1 formula; and its validation, one SuiteError line per mistake."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from robustbench_keras.data import load_dataset
from robustbench_keras.data.spheres import SpheresSpec
from robustbench_keras.errors import SuiteError
from robustbench_keras.pipeline.run import run_suite
from robustbench_keras.plots.spheres_slice import Plane
from robustbench_keras.suite import load_suite
from robustbench_keras.zoo import spheres_error, spheres_nets

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_spheres_suites_are_valid():
    full, smoke = load_suite(ROOT / "suites/spheres.yaml"), load_suite(ROOT / "suites/spheres_smoke.yaml")
    assert full.spheres.dimension == 500 and full.scorers["spheres"].num_error_points >= 10**6
    assert smoke.spheres.dimension == 20 and smoke.attack.domain == "sphere"


SPHERES = """
name: s
dataset: spheres
spheres: {dimension: 20}
models: [spheres_quadratic_d20]
attack: {domain: unbounded}
scorers: {spheres: {num_attacked: 4}}
"""
MNIST = "name: m\nmodels: [fc10_wd1e-4]\n"


@pytest.mark.parametrize("text, message", [
    (SPHERES.replace("spheres_quadratic_d20", "spheres_relu_d500"),
     "models\\[0\\]: 'spheres_relu_d500' is not a spheres model of dimension 20"),
    (SPHERES.replace("spheres_quadratic_d20", "fc10_wd1e-4"), "'fc10_wd1e-4' is not a spheres model"),
    (SPHERES.replace("domain: unbounded", "domain: box"), "attack.domain: expected unbounded or sphere"),
    (SPHERES.replace("domain: unbounded", "domain: torus"), "attack.domain: expected one of box, unbounded, sphere"),
    (SPHERES.replace("{dimension: 20}", "{dimension: 1}"), "spheres: dimension must be an integer >= 2"),
    (SPHERES.replace("{dimension: 20}", "{dimension: 20, size: 3}"), "spheres: unknown key 'size'"),
    (SPHERES.replace("{spheres: {num_attacked: 4}}", "{min_distortion: {}}"), "scorers.min_distortion: does not apply"),
    (MNIST + "spheres: {dimension: 20}\n", "spheres: applies to dataset: spheres only"),
    (MNIST + "attack: {domain: sphere}\n", "attack.domain: applies to dataset: spheres only"),
    (MNIST + "scorers: {spheres: {}}\n", "scorers.spheres: applies to dataset: spheres only"),
    ("name: m\nmodels: [spheres_relu_d20]\n", "'spheres_relu_d20' is not an image model"),
])
def test_mistakes_are_one_suite_error_line(tmp_path, text, message):
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(SuiteError, match=message) as raised:
        load_suite(path)
    assert str(raised.value).startswith(f"{path}: ") and "\n" not in str(raised.value)


def test_dataset_splits_lie_on_the_spheres_and_fingerprint_names_the_generator():
    dataset = load_dataset("spheres", spheres_spec=SpheresSpec(dimension=8, num_train=10, num_test=6))
    x, y = dataset.split("test")
    assert x.shape == (6, 8) and dataset.split_names == ("train", "test")
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), np.where(y == 1, 1.3, 1.0), rtol=1e-6)
    fingerprint = dataset.fingerprint
    assert fingerprint["dataset"] == "spheres" and fingerprint["dimension"] == 8 and len(fingerprint["id"]) == 16
    other_sizes = load_dataset("spheres", spheres_spec=SpheresSpec(dimension=8, num_test=60)).fingerprint["id"]
    assert other_sizes == fingerprint["id"]  # the sizes change no sample, hence no trained model
    assert load_dataset("spheres", spheres_spec=SpheresSpec(dimension=8, seed=1)).fingerprint["id"] != other_sizes


def test_slice_plane_is_orthonormal_and_holds_both_points():
    rng = np.random.default_rng(0)
    x, x_adv = rng.normal(size=30), rng.normal(size=30)
    plane = Plane.through(x, x_adv, 1.3, 16)
    np.testing.assert_allclose(np.stack([plane.e1, plane.e2]) @ np.stack([plane.e1, plane.e2]).T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(plane.point[0] * plane.e1 + plane.point[1] * plane.e2, x, atol=1e-12)
    np.testing.assert_allclose(plane.error[0] * plane.e1 + plane.error[1] * plane.e2, x_adv, atol=1e-12)
    assert [grid.shape for grid in plane.grids()] == [(16, 16, 30)] * 2


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """The smoke suite at 2 x 20,000 error points and 4 attacked points, run in a fresh folder."""
    folder = tmp_path_factory.mktemp("spheres")
    text = (ROOT / "suites/spheres_smoke.yaml").read_text()
    text = text.replace("num_error_points: 100000", "num_error_points: 20000").replace("num_attacked: 8",
                                                                                      "num_attacked: 4")
    (folder / "suite.yaml").write_text(text)
    suite = load_suite(folder / "suite.yaml", output=str(folder / "out"), cache_dir=str(folder / "cache"))
    run_suite(suite, progress=False)
    document = json.loads((folder / "out" / "leaderboard.json").read_text())
    return suite, folder / "out", {entry["id"]: entry for entry in document["entries"]}


def test_smoke_suite_scores_both_nets_and_writes_table_and_figures(smoke_run):
    suite, output, entries = smoke_run
    assert set(entries) == {"spheres_quadratic_d20", "spheres_relu_d20"}
    for entry in entries.values():
        section = entry["spheres"]
        mu = section["error_rate"]["inner"]["error"]
        assert 0 < mu < 0.5 and section["distance"]["num_failed"] == 0
        assert section["bound"] == pytest.approx(scipy.stats.norm.ppf(1 - mu) / np.sqrt(20))
        assert section["ratio_to_bound"] == pytest.approx(section["distance"]["mean"] / section["bound"])
    tables = (output / "tables.md").read_text()
    assert "Adversarial spheres (Gilmer et al. 2018)" in tables and "Quadratic net (d=20)" in tables
    figures = {item["path"] for item in json.loads((output / "figures" / "figures.json").read_text())}
    assert figures == {"figures/spheres_tradeoff.png", "figures/slice_spheres_quadratic_d20.png",
                       "figures/slice_spheres_relu_d20.png"}
    assert all((output / path).stat().st_size > 10_000 for path in figures)


def test_quadratic_net_matches_the_exact_rate_and_oracle(smoke_run):
    suite, _, entries = smoke_run
    section = entries["spheres_quadratic_d20"]["spheres"]
    model = suite.load_model("spheres_quadratic_d20", load_dataset("spheres", spheres_spec=suite.spheres),
                             progress=False)  # from the run's cache
    matrix, b = spheres_nets.quadratic_form(model)
    exact_inner, exact_outer = spheres_error.exact_error_rates(matrix, b, 1.3)
    assert section["exact"]["error_rate"]["inner"] == pytest.approx(exact_inner)
    for name, exact in (("inner", exact_inner), ("outer", exact_outer)):
        estimate = section["error_rate"][name]["error"]
        assert abs(estimate - exact) <= 4 * np.sqrt(exact * (1 - exact) / 20_000) + 1e-4
    ratio = section["exact"]["exact_optimum_ratio"]
    assert ratio["n"] >= 1 and 1 - 1e-3 <= ratio["mean"] <= 1.01
    # every point's exact distance is at most the attack's: the exact mean is the smaller
    assert section["exact"]["distance_mean"] <= section["distance"]["mean"] * (1 + 1e-3)
