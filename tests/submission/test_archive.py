"""Hostile `.keras` archives: refused from the central directory and config.json alone, before Keras runs."""

import json
import warnings
import zipfile

import keras
import pytest

from robustbench_keras.errors import ModelError
from robustbench_keras.submission import archive, load_submitted_model

CONFIG = json.dumps({"class_name": "Sequential", "config": {"layers": []}})


@pytest.fixture(autouse=True)
def keras_never_loads(monkeypatch):
    """Each refusal below happens before Keras is asked to load anything."""

    def fail(*args, **kwargs):
        raise AssertionError("keras.saving.load_model was called")

    monkeypatch.setattr(keras.saving, "load_model", fail)


def write_archive(path, entries, compression=zipfile.ZIP_STORED):
    """A zip archive of {name: bytes} (names may repeat through a list of pairs)."""
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", compression=compression) as target:
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        for name, data in entries:
            target.writestr(name, data)
    return path


def refusal(path, **kwargs):
    with pytest.raises(ModelError) as caught:
        load_submitted_model(path, **kwargs)
    assert "\n" not in str(caught.value) and str(caught.value).startswith(f"{path}: ")
    return str(caught.value)


def test_an_archive_that_expands_far_beyond_its_size_is_a_zip_bomb(tmp_path):
    entries = [("config.json", CONFIG), ("model.weights.h5", bytes(50_000_000))]
    path = write_archive(tmp_path / "bomb.keras", entries, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 100_000
    assert "archive unpacks to 50.0 MB from " in refusal(path) and "a zip bomb?" in refusal(path)


@pytest.mark.parametrize("name", ["/etc/cron.d/job", "../outside.txt", "assets/../../outside.txt",
                                  "C:\\Windows\\evil.dll", "assets\\..\\..\\evil.txt"])
def test_entries_with_absolute_or_parent_paths_are_refused(tmp_path, name):
    path = write_archive(tmp_path / "model.keras", [("config.json", CONFIG), (name, b"x")])
    with zipfile.ZipFile(path) as opened:  # zipfile keeps the hostile name as written
        assert name.replace("\\", "/") in [info.filename.replace("\\", "/") for info in opened.infolist()]
    assert "has an absolute or '..' path" in refusal(path)


def test_an_entry_named_twice_is_refused(tmp_path):
    path = write_archive(tmp_path / "model.keras", [("config.json", CONFIG), ("config.json", '{"class_name": "x"}')])
    assert "archive entry 'config.json' appears twice" in refusal(path)


def test_a_deeply_nested_config_is_refused(tmp_path):
    depth = archive.MAX_CONFIG_DEPTH + 1
    nested = '{"class_name": "Sequential", "config": ' + "[" * depth + "]" * depth + "}"
    path = write_archive(tmp_path / "model.keras", [("config.json", nested)])
    assert f"config.json nests deeper than {archive.MAX_CONFIG_DEPTH} levels" in refusal(path)


def test_an_enormous_config_is_refused_before_it_is_read(tmp_path, monkeypatch):
    padding = " " * (archive.MAX_CONFIG_BYTES + 1)
    path = write_archive(tmp_path / "model.keras", [("config.json", CONFIG + padding)])
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *args: pytest.fail("config.json was read"))
    assert "config.json is above 17 MB" in refusal(path)


def test_too_many_entries_are_refused(tmp_path):
    entries = [("config.json", CONFIG)] + [(f"assets/{number}", b"") for number in range(archive.MAX_ENTRIES)]
    assert f"more than {archive.MAX_ENTRIES:,}" in refusal(write_archive(tmp_path / "model.keras", entries))


def test_a_damaged_archive_is_one_line(tmp_path):
    path = write_archive(tmp_path / "model.keras", [("config.json", CONFIG)], zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    data[40:44] = b"\xff\xff\xff\xff"  # inside config.json's deflate stream
    path.write_bytes(bytes(data))
    assert "damaged zip archive" in refusal(path)


def test_names_with_line_breaks_still_give_one_line(tmp_path):
    config = json.dumps({"class_name": "Dense", "module": "evil\nmodule", "config": {"name": "a\r\nb"}})
    message = refusal(write_archive(tmp_path / "model.keras", [("config.json", config)]))
    assert "'evil module.Dense', not a built-in Keras modelling class" in message
