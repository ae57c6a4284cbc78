"""Tests for robustbench_keras.submission.loading: what is refused, that refused code never runs,
and that good files load unchanged."""

import functools
import io
import json
import pathlib
import pickle
import re
import tempfile
import zipfile

import hypothesis
import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import strategies as st

from robustbench_keras.errors import ModelError
from robustbench_keras.submission import load_submitted_model


class PickledPayload:
    """Unpickling this object touches a file: proof that a pickle was opened."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def refusal(path, **kwargs):
    """The one-line message of the ModelError that loading `path` raises."""
    with pytest.raises(ModelError) as caught:
        load_submitted_model(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# Missing, folders, size.


def test_missing_file_is_refused(tmp_path):
    assert "no such file" in refusal(tmp_path / "absent.keras")


def test_savedmodel_folder_is_refused(tmp_path):
    folder = tmp_path / "saved_model"
    tf.saved_model.save(tf.Module(), str(folder))
    assert "SavedModel folder is not accepted" in refusal(folder)


def test_plain_folder_is_refused(tmp_path):
    assert "is a folder" in refusal(tmp_path)


def test_file_above_size_limit_is_refused(good_file):
    message = refusal(good_file, max_size_bytes=1000)
    assert f"file is {good_file.stat().st_size} bytes, above the 1000 bytes limit" in message
    assert "--max-model-size-mb" in message


def test_archive_unpacking_above_size_limit_is_refused(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", bytes(2_000_000))
    assert path.stat().st_size < 100_000
    assert "archive unpacks to 2.0 MB" in refusal(path, max_size_bytes=100_000)


# Not a model, pickles, HDF5.


@pytest.mark.parametrize("protocol", [0, 1, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle_is_refused_by_content_and_never_unpickled(tmp_path, marker, protocol):
    path = tmp_path / "model.keras"
    path.write_bytes(pickle.dumps(PickledPayload(str(marker)), protocol=protocol))
    assert "is a Python pickle, refused without being opened" in refusal(path)
    assert not marker.exists()


def test_zip_of_pickles_is_refused_and_never_unpickled(tmp_path, marker):
    path = tmp_path / "checkpoint.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(PickledPayload(str(marker))))
    assert "zip of Python pickles" in refusal(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"hello, this is text.\n", "not a model file (expected a .keras zip archive"),
        (b"", "not a model file (expected a .keras zip archive"),
        (np.zeros(3).tobytes(), "not a model file (expected a .keras zip archive"),
    ],
)
def test_non_model_file_is_refused(tmp_path, content, expected):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    assert expected in refusal(path)


def test_zip_without_config_is_refused(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "weights elsewhere")
    assert "a zip archive without config.json" in refusal(path)


def test_zip_with_invalid_config_is_refused(good_file):
    buffer = io.BytesIO()
    with zipfile.ZipFile(good_file) as source, zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            target.writestr(name, b"{not json" if name == "config.json" else source.read(name))
    good_file.write_bytes(buffer.getvalue())
    assert "config.json is not valid JSON" in refusal(good_file)


def test_config_nested_beyond_recursion_limit_is_refused(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "[" * 100_000 + "]" * 100_000)
    assert "config.json is not valid JSON" in refusal(path)


def test_legacy_h5_is_refused_with_conversion_hint(save, build):
    path = save(build(), "model.h5")
    message = refusal(path)
    assert "legacy HDF5 (.h5) model files are not accepted" in message
    assert '.save("model.keras")' in message


# Executable payloads: refused, never run; loaded only with trust.


def test_python_lambda_is_refused_and_never_executed(save, build, marker, payloads):
    path = save(build(middle=keras.layers.Lambda(payloads.python_lambda())))
    message = refusal(path)
    assert "is a Lambda layer, refused in safe mode (--trust-model-code allows it)" in message
    assert not marker.exists()
    load_submitted_model(path, trust_model_code=True)  # rebuilding the graph calls the lambda
    assert marker.exists()


def test_named_function_lambda_is_refused_although_keras_safe_mode_would_run_it(save, build, marker, payloads):
    path = save(build(middle=keras.layers.Lambda(payloads.registered_touch_marker, name="lambda_1")))
    assert f"{path}: layer 'lambda_1' is a Lambda layer, refused in safe mode (--trust-model-code allows it)" == (
        refusal(path)
    )
    assert not marker.exists()
    # Why the package audits config.json itself: Keras's safe mode resolves a registered function.
    keras.saving.load_model(path, safe_mode=True, compile=False)
    assert marker.exists()


def test_unregistered_named_function_is_refused(save, build, marker, payloads):
    path = save(build(middle=keras.layers.Lambda(payloads.touch_marker)))
    assert "is a Lambda layer" in refusal(path)
    assert not marker.exists()


def test_registered_custom_layer_is_refused_and_never_constructed(save, build, marker, payloads):
    path = save(build(middle=payloads.MarkerLayer(name="marker_layer")))
    message = refusal(path)
    assert "'marker_layer' is the custom class 'robustbench_keras_tests>MarkerLayer', refused in safe mode" in message
    assert not marker.exists()
    load_submitted_model(path, trust_model_code=True)
    assert marker.exists()


def test_unregistered_custom_layer_is_refused(save, build, payloads):
    path = save(build(middle=payloads.UnregisteredLayer(name="mystery")))
    message = refusal(path)
    assert re.search(r": 'mystery' is '[\w.]*UnregisteredLayer', not a built-in Keras modelling class", message)
    assert "Keras could not load the model" in refusal(path, trust_model_code=True)


def test_keras_function_gadget_in_config_is_refused(good_file, rewrite):
    """CVE-2025-9906's pattern: a config naming a public Keras function that turns safe mode off."""

    def plant_gadget(config):
        dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
        dense["config"]["activation"] = {
            "module": "keras.config",
            "class_name": "function",
            "config": "enable_unsafe_deserialization",
            "registered_name": "enable_unsafe_deserialization",
        }

    rewrite(good_file, plant_gadget)
    message = refusal(good_file)
    assert "layer 'scores' calls the function 'keras.config.enable_unsafe_deserialization'" in message


def test_non_keras_module_class_in_config_is_refused(good_file, rewrite):
    def plant_class(config):
        config["config"]["layers"][1]["module"] = "os"
        config["config"]["layers"][1]["class_name"] = "system"

    rewrite(good_file, plant_class)
    assert "is 'os.system', not a built-in Keras modelling class" in refusal(good_file)


# Good files.


def test_good_model_loads_with_identical_outputs(save, build, probe_images):
    model = build(input_shape=(28, 28, 1), middle=keras.layers.Conv2D(2, 3, activation="relu"))
    loaded = load_submitted_model(save(model))
    np.testing.assert_array_equal(loaded(probe_images[..., None]), model(probe_images[..., None]))


def test_kind_is_read_from_content_not_extension(good_file, probe_images):
    renamed = good_file.rename(good_file.with_suffix(".bin"))
    loaded = load_submitted_model(renamed)
    assert loaded.output_shape == (None, 10)


def test_compiled_model_with_custom_loss_loads_uncompiled(save, build):
    model = build()
    model.compile(optimizer="adam", loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    loaded = load_submitted_model(save(model))
    assert not loaded.compiled


def test_common_builtin_layers_pass_the_audit(save, probe_images):
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(2, 3, kernel_regularizer=keras.regularizers.L2(1e-4)),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Dropout(0.2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, kernel_constraint=keras.constraints.MaxNorm(3.0), activation=keras.activations.tanh),
            keras.layers.Rescaling(2.0),
        ]
    )
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loaded = load_submitted_model(save(model))
    np.testing.assert_array_equal(loaded(probe_images[..., None]), model(probe_images[..., None]))


# Property: mutated archives load or raise one ModelError line — never another exception.


@functools.lru_cache(maxsize=1)
def good_archive():
    """{entry name: bytes} of a small valid `.keras` file."""
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "model.keras"
        keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)]).save(path)
        with zipfile.ZipFile(path) as source:
            return {name: source.read(name) for name in source.namelist()}


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                           lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.text(max_size=8), children, max_size=3), max_leaves=8)


def _set_at(config, choices, value):
    """`config` with the value at a path picked by `choices` replaced by `value`."""
    node = config
    for choice in choices:
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        key, child = children[choice % len(children)] if children else (None, None)
        if not isinstance(child, (dict, list)) or not child:
            node[key] = value if key is not None else node
            return config
        node = child
    return config


MUTATIONS = st.one_of(
    st.tuples(st.just("config"), st.lists(st.integers(0, 50), max_size=8), JSON_VALUES),
    st.tuples(st.just("entry"), st.integers(0, 2), st.sampled_from(["", "x", "../"]), st.binary(max_size=64)),
    st.tuples(st.just("bytes"), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4), st.floats(0, 1)),
)


def mutated_archive(mutation, compression):
    """The bytes of the valid archive with its config, an entry or its raw bytes changed by `mutation`."""
    entries = dict(good_archive())
    kind, *how = mutation
    if kind == "config":
        entries["config.json"] = json.dumps(_set_at(json.loads(entries["config.json"]), *how)).encode()
    elif kind == "entry":
        number, prefix, data = how
        name = sorted(entries)[number]
        entries[prefix + name if prefix != "x" else name + "x"] = data
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as target:
        for name, data in entries.items():
            target.writestr(name, data)
    data = bytearray(buffer.getvalue())
    if kind == "bytes":
        changes, kept = how
        for where, value in changes:
            data[int(where * (len(data) - 1))] = value
        data = data[:int(kept * len(data)) or len(data)]
    return bytes(data)


@hypothesis.settings(max_examples=80, deadline=None, database=None)
@hypothesis.given(mutation=MUTATIONS, compression=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
# A first byte 0x8d reads as a pickle opcode whose 8-byte length field (the zip header) asks for ~2**64 bytes.
@hypothesis.example(mutation=("bytes", [(0.0, 141)], 0.5), compression=zipfile.ZIP_DEFLATED)
def test_any_mutated_archive_loads_or_is_one_model_error_line(mutation, compression):
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "model.keras"
        path.write_bytes(mutated_archive(mutation, compression))
        try:
            model = load_submitted_model(path)
        except ModelError as error:
            assert str(error).startswith(f"{path}: ") and "\n" not in str(error)
        else:
            assert isinstance(model, keras.Model)
