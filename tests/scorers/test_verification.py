"""The verification scorer on a tiny trained ReLU net: statuses against PGD and sampling, the schema, the
table beside Xiao et al.'s value, the speed-up and the figure."""

import json
import types
from importlib import resources

import jsonschema
import keras
import numpy as np
import pytest

from robustbench_keras.errors import SuiteError
from robustbench_keras.scorers import verification
from robustbench_keras.scorers.context import ScoringContext

EPSILON = 0.02
NUM_EXAMPLES = 6


class _Data:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def split(self, name):
        assert name == "test"
        return self.x, self.y


@pytest.fixture(scope="module")
def scored(mnist, tmp_path_factory):
    keras.utils.set_random_seed(0)
    relu = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(8, "relu"),
                             keras.layers.Dense(10)], name="tiny_relu")
    relu.compile(optimizer=keras.optimizers.Adam(0.01),
                 loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    relu.fit(mnist.x_train[:2000], mnist.y_train[:2000], epochs=3, batch_size=100, verbose=0)
    sigmoid = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(4, "sigmoid"),
                                keras.layers.Dense(10)], name="tiny_sigmoid")
    models = {"tiny_relu": relu, "tiny_sigmoid": sigmoid}
    context = ScoringContext(types.SimpleNamespace(seed=0), _Data(mnist.x_test[:50], mnist.y_test[:50]), models,
                             {m: types.SimpleNamespace(sections={}) for m in models},
                             tmp_path_factory.mktemp("out"), progress=False, scored=tuple(models))
    settings = verification.Settings(epsilons=(EPSILON, 2 * EPSILON), num_examples=NUM_EXAMPLES, time_limit_s=30,
                                     num_resamples=200)
    verification.run(settings, context)
    return context, settings


def test_statuses_agree_with_the_errors_pgd_and_sampling(scored, mnist):
    context, _ = scored
    model = context.models["tiny_relu"]
    x, y = mnist.x_test[:NUM_EXAMPLES], mnist.y_test[:NUM_EXAMPLES]
    rows = context.entries["tiny_relu"].sections["verification"]["epsilons"]
    assert [r["epsilon"] for r in rows] == [EPSILON, 2 * EPSILON]
    rng = np.random.default_rng(0)
    for row in rows:
        statuses = row["statuses"]
        assert len(statuses) == NUM_EXAMPLES and "timeout" not in statuses and "unconfirmed" not in statuses
        assert statuses.count("misclassified") == round(row["clean_error"] * NUM_EXAMPLES)
        solved = [t is not None for t in row["time_s"]]
        assert [b is not None for b in row["num_binaries"]] == solved
        assert all(s in ("misclassified", "counterexample") for s, done in zip(statuses, solved) if not done)
        assert all(not done for s, done in zip(statuses, solved) if s == "misclassified")
        assert row["verified_accuracy"] == statuses.count("robust") / NUM_EXAMPLES
        assert row["verified_accuracy"] <= 1 - row["pgd_error"]  # a proven-robust example resists PGD
        low, high = row["verified_accuracy_ci"]
        assert low <= row["verified_accuracy"] <= high
        for i in np.flatnonzero(np.array(statuses) == "robust"):  # no sampled point of the ball flips it
            noise = rng.uniform(-row["epsilon"], row["epsilon"], size=(200, 28, 28))
            samples = np.clip(x[i] + noise, 0, 1).astype("float32")
            assert (np.argmax(model.predict(samples, verbose=0), axis=1) == y[i]).all()
        assert set(row["unstable_relus"]) == {model.layers[1].name}
    assert rows[1]["verified_accuracy"] <= rows[0]["verified_accuracy"]  # a larger ball proves less
    assert rows[1]["statuses"].count("robust") < NUM_EXAMPLES and rows[0]["statuses"].count("robust") > 0


def test_sections_follow_the_schema_and_unsupported_models_say_why(scored):
    context, _ = scored
    schema = json.loads(resources.files("robustbench_keras.leaderboard").joinpath("schema.json").read_text())
    validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/verification"})
    for entry in context.entries.values():
        validator.validate(json.loads(json.dumps(entry.sections["verification"])))
    assert "sigmoid" in context.entries["tiny_sigmoid"].sections["verification"]["unsupported"]


def _document(context):
    return {"data_fingerprint": {"dataset": "mnist"},
            "entries": [{"id": m, "paper_name": None, "verification": e.sections["verification"]}
                        for m, e in context.entries.items()]}


def test_table_rows_and_figure(scored, tmp_path):
    context, settings = scored
    [table] = verification.tables(_document(context), None, settings)
    assert [row[1] for row in table.rows] == [f"{EPSILON:g}", f"{2 * EPSILON:g}", "—"]
    assert all(row[4].paper is None for row in table.rows)  # only xiao_conv_pgd_rs at 0.1 has the paper's value
    [(caption, name, draw, args)] = verification.figures(_document(context), context)
    assert draw(tmp_path / name, *args).stat().st_size > 0


def test_speedup_compares_a_model_with_its_twin_without_rs():
    def entry(model_id, mean):
        return {"id": model_id, "verification": {"epsilons": [{"epsilon": 0.1, "time_s_mean": mean}]}}

    document = {"entries": [entry("net_rs", 0.5), entry("net", 3.0), entry("other_rs", 1.0)]}
    assert verification.speedup(document, "net_rs", 0.1) == pytest.approx(6.0)
    assert verification.speedup(document, "net", 0.1) is None
    assert verification.speedup(document, "other_rs", 0.1) is None
    assert verification.speedup(document, "net_rs", 0.2) is None


@pytest.mark.parametrize("changes", [{"epsilons": ()}, {"epsilons": (1.5,)}, {"num_examples": 0},
                                     {"time_limit_s": 0.0}, {"bracket_time_limit_s": 0.0},
                                     {"bracket_relative_gap": 0.0}, {"bracket_relative_gap": 1.0}])
def test_settings_refuse_out_of_range_values(changes):
    with pytest.raises(SuiteError, match="verification"):
        verification.Settings(**changes)


def test_verification_suites_load():
    from robustbench_keras.suite import load_suite

    for name in ("suites/verification.yaml", "suites/verification_smoke.yaml"):
        suite = load_suite(name)
        assert list(suite.scorers) == ["min_distortion", "spectral", "verification"]  # the bracket's inputs first
        assert all(m.startswith("xiao_") for m in suite.models)
