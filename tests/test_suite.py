"""Suite validation: every mistake is one line naming the file and the key."""

import dataclasses
import pathlib
import tempfile
import textwrap

import hypothesis
import pytest
import yaml
from hypothesis import strategies as st

from robustbench_keras import scorers, zoo
from robustbench_keras.attacks.settings import AttackSettings
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
        (("random}", "random, side_by_side_models: [fc10_wd1e-4, fc200_200_10]}"),
         "side_by_side_models: 'fc200_200_10' is not a model of the suite (models: fc10_wd1e-4, fc100_100_10)"),
        (("random}", "random, side_by_side_models: [fc10_wd1e-4]}"),
         "side_by_side_models: expected two or more different model ids, got ['fc10_wd1e-4']"),
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


# Property: any bytes, any YAML shape, either load or one SuiteError line — never another exception.
YAML_SCALARS = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=12)
YAML_VALUES = st.recursive(YAML_SCALARS, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)


def _section(settings_class):
    """A mapping of some of `settings_class`'s fields (or a stray key) to arbitrary values."""
    names = [field.name for field in dataclasses.fields(settings_class)] + ["stray"]
    return st.dictionaries(st.sampled_from(names), YAML_SCALARS | YAML_VALUES, max_size=4)


SUITE_SHAPED = st.fixed_dictionaries({
    "name": st.text(max_size=8),
    "models": st.lists(st.sampled_from(zoo.names()), min_size=1, max_size=3) | YAML_VALUES,
}, optional={
    "dataset": st.sampled_from(["mnist", "fashion_mnist"]) | YAML_SCALARS,
    "seed": YAML_SCALARS, "max_epochs": YAML_SCALARS, "output": YAML_SCALARS, "data_dir": YAML_SCALARS,
    "attack": _section(AttackSettings) | YAML_VALUES,
    "scorers": st.fixed_dictionaries({}, optional={name: _section(scorers.get(name).Settings) | YAML_SCALARS
                                                   for name in scorers.SCORER_NAMES}) | YAML_VALUES,
})
SUITE_DOCUMENTS = (
    st.binary(max_size=200)
    | YAML_VALUES.map(lambda value: yaml.safe_dump(value).encode())
    | SUITE_SHAPED.map(lambda value: yaml.safe_dump(value).encode())
    | st.sampled_from(["utf-16", "utf-32", "latin-1"]).map(lambda codec: "name: é\nmodels: [fc10_wd1e-4]\n".encode(codec))
    | st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth)
)


@hypothesis.settings(max_examples=150, deadline=None, database=None)
@hypothesis.given(document=SUITE_DOCUMENTS)
def test_any_suite_document_loads_or_is_one_suite_error_line(document):
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "suite.yaml"
        path.write_bytes(document)
        try:
            suite = load_suite(path)
        except SuiteError as error:
            assert str(error).startswith(f"{path}: ") and "\n" not in str(error)
        else:
            assert suite.models and isinstance(suite.hash(), str)


def test_a_binary_file_and_an_output_that_is_a_file_are_one_line_errors(tmp_path):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SuiteError, match="not valid YAML .*not UTF-8"):
        load_suite(binary)
    a_file = tmp_path / "taken"
    a_file.write_text("")
    path = write(tmp_path, VALID)
    for output in (a_file, a_file / "inside"):
        with pytest.raises(SuiteError, match=f"output: '{output}' is not a folder \\('{a_file}' is a file\\)"):
            load_suite(path, output=str(output))
