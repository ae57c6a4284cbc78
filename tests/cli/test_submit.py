"""Submitting a model: the newcomer's path end to end, and every bad input refused without damage."""

import hashlib
import json
import os
import pickle
import shutil

import jsonschema
import keras
import numpy as np
import pytest

from robustbench_keras.defenses import detector
from robustbench_keras.defenses.random_mask import RandomMask
from robustbench_keras.errors import LeaderboardError, ModelError, SuiteError
from robustbench_keras.leaderboard.store import load_schema
from robustbench_keras.pipeline.run import run_suite
from robustbench_keras.pipeline.submit import submit_model
from robustbench_keras.scorers import feature_squeezing
from robustbench_keras.scorers.min_distortion import sample_indices
from robustbench_keras.statistics import wilson_ci
from robustbench_keras.submission import load_submitted_model
from robustbench_keras.suite import load_suite

MARKER = "ROBUSTBENCH_KERAS_SUBMIT_MARKER"


def save_small_model(path, mnist, input_shape=(28, 28), num_classes=10, epochs=1, layers=()):
    """The README's newcomer model: a few lines of Keras, trained briefly, saved as .keras."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(input_shape), *layers, keras.layers.Flatten(),
                              keras.layers.Dense(32, activation="relu"), keras.layers.Dense(num_classes)])
    if epochs:
        x, y = mnist.split("train")
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x[:2000].reshape((-1, *input_shape)), y[:2000], epochs=epochs, batch_size=100, verbose=0)
    model.save(path)
    return path


@pytest.fixture()
def board(tiny_run, tmp_path):
    """A private copy of the tiny run's output: (suite, leaderboard path)."""
    suite_path, output, _ = tiny_run
    copy = tmp_path / "out"
    shutil.copytree(output, copy)
    suite = load_suite(suite_path, output=str(copy), data_dir=os.environ["ROBUSTBENCH_KERAS_DATA_DIR"])
    return suite, copy / "leaderboard.json"


def test_newcomer_submits_and_is_ranked_with_provenance(board, cli, cli_in_process, tmp_path, mnist, outputs_follow):
    """The first submit runs as a user starts it, in a new process; the commands after it run in this one."""
    suite, leaderboard = board
    model_file = save_small_model(tmp_path / "newcomer.keras", mnist)
    args = ["--suite", suite.path, "--output", suite.output]
    result = cli("submit", model_file, "--name", "newcomer", "--author", "A. N. Other", *args)
    assert result.returncode == 0, result.stderr
    assert "submitted 'newcomer'" in result.stdout
    document = json.loads(leaderboard.read_text())
    jsonschema.validate(document, load_schema())
    entry = document["entries"][-1]
    assert entry["id"] == "newcomer" and entry["source"] == "submission"
    assert entry["checkpoint_sha256"] == hashlib.sha256(model_file.read_bytes()).hexdigest()
    assert entry["submission"]["authors"] == ["A. N. Other"]
    assert entry["min_distortion"]["train"]["n"] == 12
    assert entry["spectral"]["product"] > 0
    fc10 = next(e for e in document["entries"] if e["id"] == "fc10_wd1e-4")
    assert "newcomer" in fc10["transfer"]["errors_on"]  # a new column of Table 2
    assert set(entry["transfer"]["errors_on"]) == {"fc10_wd1e-4", "newcomer"}  # and a new row
    assert "newcomer" in (leaderboard.parent / "tables.md").read_text()
    shown = cli_in_process("leaderboard", "show", *args)
    assert shown.returncode == 0 and "newcomer" in shown.stdout

    before = leaderboard.read_bytes()
    again = cli_in_process("submit", model_file, "--name", "other-name", *args)
    assert again.returncode == 1
    assert "already on the leaderboard as 'newcomer'" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert leaderboard.read_bytes() == before
    outputs_follow(leaderboard.parent)
    first_records = leaderboard.parent / entry["min_distortion"]["train"]["records"]["path"]
    retrained = save_small_model(tmp_path / "retrained.keras", mnist, epochs=0)
    assert cli_in_process("submit", retrained, "--name", "newcomer", "--update", *args).returncode == 0
    outputs_follow(leaderboard.parent)
    assert not first_records.exists()  # the replaced model's records went with it

    verified = cli_in_process("leaderboard", "verify", "newcomer", *args)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "MISMATCH" not in verified.stdout and "test error" in verified.stdout
    removed = cli_in_process("leaderboard", "remove", "newcomer", *args)
    assert removed.returncode == 0
    document = outputs_follow(leaderboard.parent)
    assert all(e["id"] != "newcomer" for e in document["entries"])
    for name in ("tables.md", "index.html"):
        assert "newcomer" not in (leaderboard.parent / name).read_text()
    assert "newcomer" not in cli_in_process("leaderboard", "show", *args).stdout
    assert (leaderboard.parent / "figures" / "transfer_table2.png").is_file()  # redrawn from the document



def test_verify_detects_a_tampered_number(board, cli_in_process):
    suite, leaderboard = board
    document = json.loads(leaderboard.read_text())
    document["entries"][0]["clean_errors"]["test"] += 0.05
    leaderboard.write_text(json.dumps(document))
    result = cli_in_process("leaderboard", "verify", document["entries"][0]["id"], "--suite", suite.path,
                            "--output", suite.output)
    assert result.returncode == 1
    assert "test error" in result.stdout and "MISMATCH" in result.stdout


def write_pickle(path, mnist):
    class Payload:
        def __reduce__(self):
            return (open, (os.environ[MARKER], "w"))

    path.write_bytes(pickle.dumps(Payload()))
    return path


def write_lambda_model(path, mnist):
    layer = keras.layers.Lambda(lambda x: (__import__("builtins").open(
        __import__("os").environ["ROBUSTBENCH_KERAS_SUBMIT_MARKER"], "w").close(), x)[1])
    return save_small_model(path, mnist, epochs=0, layers=(layer,))


def write_text_file(path, mnist):
    path.write_text("hello")
    return path


def write_nan_model(path, mnist):
    save_small_model(path, mnist, epochs=0)
    model = keras.models.load_model(path)
    weights = model.layers[-1].get_weights()
    model.layers[-1].set_weights([np.full_like(weights[0], np.nan), weights[1]])
    model.save(path)
    return path


BAD_INPUTS = {
    "missing file": (lambda path, mnist: path, ModelError, "no such file"),
    "not a model file": (write_text_file, ModelError, "not a"),
    "a pickle": (write_pickle, ModelError, "pickle"),
    "a Lambda layer": (write_lambda_model, ModelError, "Lambda layer"),
    "wrong input shape": (lambda path, mnist: save_small_model(path, mnist, (32, 32), epochs=0), ModelError, "input"),
    "wrong number of classes": (lambda path, mnist: save_small_model(path, mnist, num_classes=5, epochs=0),
                                ModelError, "per class"),
    "NaN outputs": (write_nan_model, ModelError, "finite"),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_submissions_are_refused_and_leave_the_leaderboard_untouched(kind, board, tmp_path, mnist, monkeypatch):
    suite, leaderboard = board
    marker = tmp_path / "payload-ran"
    monkeypatch.setenv(MARKER, str(marker))
    make, error, message = BAD_INPUTS[kind]
    model_file = make(tmp_path / "model.keras", mnist)
    marker.unlink(missing_ok=True)  # building the Lambda model may have run it; loading must not
    before = leaderboard.read_bytes()
    with pytest.raises(error) as raised:
        submit_model(model_file, suite, name="bad", progress=False)
    assert message.lower() in str(raised.value).lower()
    assert "\n" not in str(raised.value)
    assert leaderboard.read_bytes() == before
    assert not marker.exists()  # no submitted code ran


def test_size_limit_name_and_suite_mistakes_are_refused(board, tmp_path, mnist, cli_in_process):
    suite, leaderboard = board
    model_file = save_small_model(tmp_path / "m.keras", mnist, epochs=0)
    before = leaderboard.read_bytes()
    with pytest.raises(ModelError, match="size"):
        submit_model(model_file, suite, name="big", max_size_bytes=1000, progress=False)
    with pytest.raises(ModelError, match="--name"):
        submit_model(model_file, suite, name="", progress=False)
    with pytest.raises(ModelError, match="zoo model id"):
        submit_model(model_file, suite, name="fc10_wd1e-4", progress=False)
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(tmp_path / "absent.yaml")
    assert leaderboard.read_bytes() == before
    result = cli_in_process("submit", model_file, "--suite", tmp_path / "absent.yaml", "--name", "x")
    assert result.returncode == 2 and "no such suite file" in result.stderr
    result = cli_in_process("submit", model_file, "--suite", suite.path)  # metadata without a name
    assert result.returncode == 2 and "--name" in result.stderr


def test_corrupt_leaderboard_is_refused_before_any_work(board, tmp_path, mnist):
    suite, leaderboard = board
    leaderboard.write_text('{"schema_version": "1.0", "entries": [')
    before = leaderboard.read_bytes()
    with pytest.raises(LeaderboardError):
        submit_model(save_small_model(tmp_path / "m.keras", mnist, epochs=0), suite, name="x", progress=False)
    assert leaderboard.read_bytes() == before


# The nano suite with feature squeezing, one chunk, and a short attack without XLA (the attacks cost most here).
DEFENSES = {"{batch_size: 16}": "{batch_size: 16, jit_compile: false, num_c_steps: 2, max_evaluations: 20, "
                                "rescue_evaluations: 20, num_boundary_steps: 8, num_projection_steps: 0, "
                                "num_restart_steps: 0}",
            "{num_examples: 4, chunk_size: 1}": "{num_examples: 4, chunk_size: 4}",
            "  transfer: {}\n": "  transfer: {}\n  feature_squeezing: {num_calibration: 40, num_validation: 40, "
                                "adaptive_num_examples: 1}\n"}


def test_both_defenses_work_for_a_submitted_model(nano_writer, tmp_path, mnist, outputs_follow):
    """A submitted conv net with a RandomMask layer passes the safe loader and gets feature squeezing's numbers,
    recomputed here from the copy on the leaderboard."""
    suite = load_suite(nano_writer(tmp_path, **DEFENSES), data_dir=os.environ["ROBUSTBENCH_KERAS_DATA_DIR"])
    run_suite(suite, progress=False)
    mask = RandomMask(0.5, seed=1, name="mask")
    model_file = save_small_model(tmp_path / "masked.keras", mnist, layers=(
        keras.layers.Reshape((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"), mask))
    submit_model(model_file, suite, name="masked", progress=False)

    document = outputs_follow(tmp_path / "out")
    entries = {entry["id"]: entry for entry in document["entries"]}
    entry = entries["masked"]
    assert "RandomMask" in entry["architecture"]
    model = load_submitted_model(tmp_path / "out" / "submissions" / "masked.keras")
    np.testing.assert_array_equal(model.get_layer("mask").mask.numpy(), mask.mask.numpy())
    row = entries["fc10_wd1e-4"]["transfer"]  # the zoo row gains the submission's column with its interval
    errors = round(row["errors_on"]["masked"] * row["num_examples"])
    assert row["errors_on_ci"]["masked"] == pytest.approx(wilson_ci(errors, row["num_examples"]))

    section, settings = entry["feature_squeezing"], suite.scorers["feature_squeezing"]
    x_train, _ = mnist.split("train")
    x_test, _ = mnist.split("test")
    calibration, validation = feature_squeezing.legitimate_sets(x_test, x_train[sample_indices(len(x_train), 4, 0)],
                                                                40, 40, seed=0)
    threshold = detector.threshold_at_rate(detector.scores(model, calibration, settings.squeezers()), 0.05)
    assert section["squeezers"] == ["bit_depth_1", "median_2x2"] and section["threshold"] == pytest.approx(threshold)
    flagged = detector.scores(model, validation, settings.squeezers()) > threshold
    assert section["false_positive_rate"]["value"] == pytest.approx(flagged.mean())
    assert section["false_positive_rate"]["num_examples"] == 40
    assert section["detection_rate"]["num_examples"] == round(4 * entry["min_distortion"]["train"]["success_rate"]) > 0
    assert 0 <= section["roc_auc"] <= 1 and set(section["transfer_detection_rates"]) == {"fc10_wd1e-4"}
    assert section["adaptive"]["num_examples"] == 1 and 0 <= section["adaptive"]["success_rate"] <= 1
    assert "feature_squeezing_roc.png" in (tmp_path / "out" / "tables.md").read_text()
