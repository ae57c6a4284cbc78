"""Suite validation: every mistake is one line naming the file and the key."""

import textwrap

import pytest

from robustbench_keras.errors import SuiteError
from robustbench_keras.suite import load_suite

VALID = """
name: tiny
dataset: mnist
seed: 3
output: out
models: [fc10_wd1e-4, fc100_100_10]
scorers:
  min_distortion: {num_examples: 20, target_policy: random}
  transfer: {magnify: literal}
"""


def write(tmp_path, text):
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_valid_suite_loads_into_frozen_settings(tmp_path):
    suite = load_suite(write(tmp_path, VALID))
    assert suite.models == ("fc10_wd1e-4", "fc100_100_10")
    assert suite.seed == 3
    assert suite.scorers["min_distortion"].num_examples == 20
    assert suite.scorers["transfer"].magnify == "literal"
    assert list(suite.scorers) == ["min_distortion", "transfer"]


def test_overrides_replace_file_values_and_none_is_ignored(tmp_path):
    suite = load_suite(write(tmp_path, VALID), output="elsewhere", data_dir=None)
    assert suite.output == "elsewhere"
    assert suite.data_dir is None


def test_hash_depends_on_settings_not_on_output(tmp_path):
    path = write(tmp_path, VALID)
    assert load_suite(path).hash() == load_suite(path, output="x").hash()
    changed = write(tmp_path, VALID.replace("seed: 3", "seed: 4"))
    assert load_suite(changed).hash() != load_suite(write(tmp_path, VALID)).hash()


@pytest.mark.parametrize(
    "change, message",
    [
        (("seed: 3", "seed: 3\ncolour: red"), "unknown key 'colour'"),
        (("seed: 3", "seed: three"), "seed: expected an integer, got 'three'"),
        (("fc100_100_10]", "fc999]"), "models[1]: unknown model 'fc999'"),
        (("dataset: mnist", "dataset: cifar"), "dataset: unknown dataset 'cifar'"),
        (("num_examples: 20", "num_examples: many"), "scorers.min_distortion.num_examples: expected an integer"),
        (("num_examples: 20", "num_exampels: 20"), "scorers.min_distortion: unknown key 'num_exampels'"),
        (("target_policy: random", "target_policy: everything"), "scorers.min_distortion: target_policy: expected one of"),
        (("magnify: literal", "magnify: 3"), "scorers.transfer.magnify: expected a string, got 3"),
        (("transfer:", "tranfser:"), "scorers: unknown scorer 'tranfser'"),
        (("name: tiny\n", ""), "missing required key 'name'"),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path, change, message):
    path = write(tmp_path, VALID.replace(*change))
    with pytest.raises(SuiteError) as raised:
        load_suite(path)
    text = str(raised.value)
    assert text.startswith(str(path) + ": ")
    assert message in text
    assert "\n" not in text


def test_transfer_needs_min_distortion(tmp_path):
    path = write(tmp_path, VALID.replace("  min_distortion: {num_examples: 20, target_policy: random}\n", ""))
    with pytest.raises(SuiteError, match="scorers.transfer: needs scorers.min_distortion"):
        load_suite(path)


def test_not_yaml_and_missing_file_are_one_line_errors(tmp_path):
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(tmp_path / "absent.yaml")
    with pytest.raises(SuiteError, match="not valid YAML"):
        load_suite(write(tmp_path, "name: [unclosed"))


def test_shipped_suites_are_valid():
    for name in ("suites/mnist.yaml", "suites/smoke.yaml"):
        suite = load_suite(name)
        assert suite.models


def test_attack_section_becomes_typed_settings_and_unknown_keys_list_the_known(tmp_path):
    suite = load_suite(write(tmp_path, VALID + "attack: {batch_size: 16, kappa: 1}\n"))
    assert suite.attack.batch_size == 16 and suite.attack.kappa == 1.0 and isinstance(suite.attack.kappa, float)
    with pytest.raises(SuiteError) as raised:
        load_suite(write(tmp_path, VALID + "attack: {max_iterations: 5}\n"))
    message = str(raised.value)
    assert "attack: unknown key 'max_iterations' (known: " in message and "max_evaluations" in message
    with pytest.raises(SuiteError, match="attack.tfp_max_iterations: applies to inner_solver: tfp only"):
        load_suite(write(tmp_path, VALID + "attack: {tfp_max_iterations: 5}\n"))
    assert load_suite(write(tmp_path, VALID + "attack: {inner_solver: tfp, tfp_max_iterations: 5}\n")).attack.tfp_max_iterations == 5


def test_hash_covers_the_effective_settings(tmp_path):
    plain = load_suite(write(tmp_path, VALID)).hash()
    defaults_spelled_out = VALID.replace("transfer: {magnify: literal}", "transfer: {magnify: literal, magnified_rms: 0.1}")
    assert load_suite(write(tmp_path, defaults_spelled_out + "attack: {batch_size: 64}\n")).hash() == plain
    assert load_suite(write(tmp_path, VALID + "attack: {batch_size: 32}\n")).hash() != plain
