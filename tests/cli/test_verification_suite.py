"""`suites/verification_smoke.yaml` end to end through the command line.

Training its two MLPs for the smoke suite's epoch costs minutes, so the test puts them in the run's cache
first, at the paths the suite's recipes key them by, trained plainly on 5,000 images for 2 epochs: the run
then loads them and does the rest as a user's run would (PGD, the MILP, the L-BFGS attacks and their
bracket, leaderboard, tables, figure).
"""

import json
import pathlib

import jsonschema
import keras
import numpy as np
import pytest

from robustbench_keras import zoo
from robustbench_keras.evaluation import error_rate
from robustbench_keras.leaderboard.store import load_schema
from robustbench_keras.suite import load_suite
from robustbench_keras.verification.bounds import network_steps
from robustbench_keras.verification.milp import minimal_margin
from robustbench_keras.zoo import cache

SMOKE = pathlib.Path(__file__).resolve().parents[2] / "suites" / "verification_smoke.yaml"


def _cache_the_models(suite, dataset):
    x, y = dataset.split("train")
    for model_id in suite.models:
        recipe = suite.recipe_for(model_id)
        model = zoo.build(model_id, suite.seed, recipe)
        model.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x[:5000], y[:5000], epochs=2, batch_size=100, verbose=0)
        info = {"model_id": model_id, "train_time_s": 0.0, "test_error": error_rate(model, *dataset.split("test")),
                "history": []}
        cache.save(model, suite.checkpoint_path(model_id, dataset), info)


def test_smoke_suite_runs_from_the_command_line(cli, mnist, tmp_path):
    suite = load_suite(SMOKE, output=str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"))
    _cache_the_models(suite, mnist)
    cli("run", SMOKE, "--output", tmp_path / "out", "--cache-dir", tmp_path / "cache", "--quiet", check=True)
    output = tmp_path / "out"
    document = json.loads((output / "leaderboard.json").read_text())
    jsonschema.validate(document, load_schema())
    entries = {entry["id"]: entry for entry in document["entries"]}
    assert set(entries) == {"xiao_mlp_pgd", "xiao_mlp_pgd_rs"}
    x, y = mnist.split("test")
    num_robust = 0
    for model_id, entry in entries.items():
        (row,) = entry["verification"]["epsilons"]
        assert row["epsilon"] == 0.02 and row["num_examples"] == len(row["statuses"]) == 10
        assert 0 <= row["verified_accuracy"] <= 1 - row["pgd_error"] + 1e-9
        model = cache.load(suite.checkpoint_path(model_id, mnist))  # the very model the run scored
        assert row["clean_error"] == pytest.approx(error_rate(model, x[:10], y[:10]))
        steps = network_steps(model)
        for i, status in enumerate(row["statuses"]):
            if status == "robust" and num_robust < 4:  # re-proved against the most threatening target
                num_robust += 1
                logits = model(x[i:i + 1], training=False).numpy()[0]
                target = int(np.argsort(logits)[-2])
                result, _ = minimal_margin(steps, x[i], int(y[i]), target, 0.02, time_limit_s=5)
                assert (result.status == 0 and result.fun > 0) or result.mip_dual_bound > 0
        bracket = entry["verification"]["bracket"]  # min_distortion's first attacks, bounded by linf_search
        assert len(bracket["index"]) == 1 and 0 <= bracket["exact_share"] <= 1
        for lower, upper, attack in zip(bracket["linf_lower"], bracket["linf_upper"], bracket["attack_linf"]):
            assert 0 < lower <= upper <= attack * (1 + 1e-6)
    assert num_robust > 0, {m: e["verification"]["epsilons"][0]["statuses"] for m, e in entries.items()}
    tables = (output / "tables.md").read_text()
    assert "Exact verification (Xiao et al. 2019, Table 1)" in tables and "Exact L∞ (%)" in tables
    figures = {item["path"] for item in json.loads((output / "figures" / "figures.json").read_text())}
    assert "figures/verification_times.png" in figures
    assert (output / "figures" / "verification_times.png").stat().st_size > 10_000
