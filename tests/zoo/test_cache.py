"""The model cache: a hit loads without training, keys separate recipes, seeds and data; writes are atomic."""

import io
import json
import os
import pathlib
import stat
import time
import zipfile

import numpy as np
import pytest

from robustbench_keras import zoo
from robustbench_keras.evaluation import error_rate
from robustbench_keras.zoo import cache, training

MODEL_ID = "fc10_wd1e-2"
SHORT = zoo.get(MODEL_ID).recipe.replace(epochs=1)


@pytest.fixture
def counted_training(monkeypatch):
    """Counts calls to `training.train` while still training."""
    calls = []
    real_train = training.train

    def train(*args, **kwargs):
        calls.append(args)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(training, "train", train)
    return calls


def test_a_cache_hit_loads_without_training_and_predicts_the_same(small_mnist, tmp_path, counted_training):
    trained = zoo.load_or_train(MODEL_ID, small_mnist, seed=1, cache_dir=tmp_path, progress=False, recipe=SHORT)
    path = zoo.cache_path(MODEL_ID, small_mnist, seed=1, cache_dir=tmp_path, recipe=SHORT)
    assert path.exists() and len(counted_training) == 1
    modified = path.stat().st_mtime_ns

    loaded = zoo.load_or_train(MODEL_ID, small_mnist, seed=1, cache_dir=tmp_path, progress=False, recipe=SHORT)
    assert len(counted_training) == 1 and path.stat().st_mtime_ns == modified
    x_test = small_mnist.x_test[:100]
    np.testing.assert_array_equal(loaded.predict(x_test, verbose=0), trained.predict(x_test, verbose=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, path.with_suffix(".json").name])


def test_the_sidecar_records_time_errors_and_keys(small_mnist, tmp_path):
    model = zoo.load_or_train(MODEL_ID, small_mnist, seed=0, cache_dir=tmp_path, progress=False, recipe=SHORT)
    sidecar = zoo.cache_path(MODEL_ID, small_mnist, 0, tmp_path, recipe=SHORT).with_suffix(".json")
    info = json.loads(sidecar.read_text())
    assert info["model_id"] == MODEL_ID and info["seed"] == 0
    assert info["data_fingerprint_id"] == small_mnist.fingerprint["id"]
    assert info["recipe"]["epochs"] == 1 and info["train_time_s"] > 0
    assert info["test_error"] == error_rate(model, *small_mnist.split("test"))
    assert 0 < info["train_error"] < 0.5
    # The test error after every epoch; after the last (only) one it is the model's final test error.
    assert info["history"] == [{"epoch": 1, "test_error": info["test_error"]}] and "attack_time_s" not in info


def test_the_key_separates_recipe_seed_and_data(small_mnist, mnist, tmp_path):
    base = zoo.cache_path(MODEL_ID, small_mnist, 0, tmp_path, recipe=SHORT)
    assert base.parent == tmp_path and base.name.startswith(f"{MODEL_ID}-seed0-") and base.suffix == ".keras"
    others = {
        zoo.cache_path(MODEL_ID, small_mnist, 1, tmp_path, recipe=SHORT),
        zoo.cache_path(MODEL_ID, small_mnist, 0, tmp_path, recipe=SHORT.replace(epochs=2)),
        zoo.cache_path(MODEL_ID, mnist, 0, tmp_path, recipe=SHORT),
        zoo.cache_path(MODEL_ID, small_mnist, 0, tmp_path),
    }
    assert base not in others and len(others) == 4
    assert zoo.cache_path(MODEL_ID, small_mnist, 0, tmp_path, recipe=SHORT) == base


def test_the_cache_folder_is_the_argument_else_the_default_never_the_environment(small_mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTBENCH_KERAS_CACHE_DIR", str(tmp_path / "from_env"))  # read by the CLI only
    assert zoo.cache_path(MODEL_ID, small_mnist, cache_dir=tmp_path).parent == tmp_path
    assert zoo.cache_path(MODEL_ID, small_mnist).parent == cache.DEFAULT_CACHE_DIR.expanduser()
    assert cache.DEFAULT_CACHE_DIR.expanduser() == pathlib.Path.home() / ".cache" / "robustbench_keras" / "models"


def test_an_interrupted_save_leaves_no_checkpoint(tmp_path, monkeypatch):
    model = zoo.build(MODEL_ID, seed=0)
    target = tmp_path / "model.keras"
    write_bytes = pathlib.Path.write_bytes

    def interrupted_write(path, data):
        write_bytes(path, data[:10])
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(pathlib.Path, "write_bytes", interrupted_write)
        with pytest.raises(KeyboardInterrupt):
            cache.save(model, target, {"note": "interrupted"})
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]

    cache.save(model, target, {"note": "complete"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.keras"]
    umask = os.umask(0)
    os.umask(umask)
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {0o666 & ~umask}
    assert json.loads(target.with_suffix(".json").read_text()) == {"note": "complete"}
    reloaded = cache.load(target)
    for a, b in zip(model.get_weights(), reloaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_saved_bytes_depend_on_the_model_not_on_when_it_was_saved():
    first = cache.keras_bytes(zoo.build(MODEL_ID, seed=0))
    assert b"shared_object_id" in zipfile.ZipFile(io.BytesIO(first)).read("config.json")
    time.sleep(1.1)  # Keras's `date_saved` has a resolution of 1 s, the zip's times of 2 s
    model = zoo.build(MODEL_ID, seed=0)  # the same model, its shared objects at other memory addresses
    assert cache.keras_bytes(model) == first
    weights = model.get_weights()
    weights[0][0, 0] += 1.0
    model.set_weights(weights)
    assert cache.keras_bytes(model) != first


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_saved_optimiser_name_does_not_depend_on_optimisers_made_before(optimizer):
    recipe = SHORT.replace(optimizer=optimizer)
    names = {training.optimizer(recipe, 0.1, 10).get_config()["name"] for _ in range(2)}
    assert names == {optimizer}  # Keras alone would name the second "sgd_1" / "adam_1"


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_cached_model_is_trained_again_with_a_note(small_mnist, tmp_path, counted_training, capsys, damage):
    trained = zoo.load_or_train(MODEL_ID, small_mnist, seed=1, cache_dir=tmp_path, progress=False, recipe=SHORT)
    path = zoo.cache_path(MODEL_ID, small_mnist, seed=1, cache_dir=tmp_path, recipe=SHORT)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        del data[len(data) // 2:]
    else:
        data[len(data) // 2] ^= 0xFF  # one flipped bit of the weights fails the archive's CRC
    path.write_bytes(bytes(data))
    again = zoo.load_or_train(MODEL_ID, small_mnist, seed=1, cache_dir=tmp_path, progress=False, recipe=SHORT)
    assert len(counted_training) == 2
    assert f"robustbench_keras: note: {path}: damaged cached model" in capsys.readouterr().err
    x_test = small_mnist.x_test[:100]
    np.testing.assert_array_equal(again.predict(x_test, verbose=0), trained.predict(x_test, verbose=0))
    assert cache.load_intact(path) is not None  # the new file is whole
