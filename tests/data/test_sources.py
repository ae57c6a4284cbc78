"""The two sources: the official-file table, tensorflow-datasets' download manager, the offline failure, and
local folders (a dataset's folder or a parent with one sub-folder per dataset; another dataset's files refused)."""

import gzip
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download import checksums, resource

from robustbench_keras.data import load_dataset, sources
from robustbench_keras.errors import DataError

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def _tfds_url_checksums(name):
    """tensorflow-datasets' shipped url_checksums/<name>.txt: url -> (size, sha256, filename)."""
    path = Path(tfds.__file__).parent / "url_checksums" / f"{name}.txt"
    rows = (line.split("\t") for line in path.read_text().splitlines() if line.strip())
    return {url: (int(size), sha256, filename) for url, size, sha256, filename in rows}


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_official_table_matches_the_checksums_tfds_ships(name):
    official = sources.OFFICIAL[name]
    table = {official.url(role): (file.size, file.sha256, file.filename) for role, file in official.files.items()}
    assert table == _tfds_url_checksums(name)


def _cache_like_tfds(download_dir, name, folder):
    """Puts a folder's files where tfds's download manager keeps a verified download (file + .INFO)."""
    official = sources.OFFICIAL[name]
    for role, file in official.files.items():
        url = official.url(role)
        path = download_dir / resource.get_dl_fname(url, file.sha256)
        shutil.copyfile(Path(folder) / file.filename, path)
        url_info = checksums.UrlInfo(size=file.size, checksum=file.sha256, filename=file.filename)
        resource.write_info_file(url=url, path=path, dataset_name=name, original_fname=file.filename, url_info=url_info)


def test_tfds_cache_gives_the_same_arrays_as_the_local_folder(tmp_path, monkeypatch):
    def no_network(url, timeout_s=sources.PROBE_TIMEOUT_S):
        raise AssertionError(f"probed {url} although everything is cached")

    monkeypatch.setattr(sources, "is_reachable", no_network)
    _cache_like_tfds(tmp_path, "fashion_mnist", FASHION_DIR)
    downloaded = load_dataset("fashion_mnist", download_dir=tmp_path, progress=False)
    local = load_dataset("fashion_mnist", data_dir=FASHION_DIR, progress=False)
    assert downloaded.fingerprint["source"] == "tensorflow-datasets"
    assert downloaded.fingerprint["arrays"] == local.fingerprint["arrays"]
    assert downloaded.fingerprint["id"] == local.fingerprint["id"]
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(downloaded, key), getattr(local, key))


def test_download_with_unofficial_content_is_refused(tmp_path, monkeypatch, mnist_dir):
    """The download manager hands back copies of the local MNIST files; the reconstruction is caught."""
    calls = []

    def fake_download(self, urls):
        calls.append(urls)
        copies = {}
        for role, url in urls.items():
            copies[role] = tmp_path / url.rsplit("/", 1)[1]
            shutil.copyfile(Path(mnist_dir) / copies[role].name, copies[role])
        return copies

    monkeypatch.setattr(sources, "is_reachable", lambda url, timeout_s=sources.PROBE_TIMEOUT_S: True)
    monkeypatch.setattr(tfds.download.DownloadManager, "download", fake_download)
    expected = r"train-images-idx3-ubyte\.gz: content sha256 c6e2b272\w+ differs from the official ba891046"
    with pytest.raises(DataError, match=expected):
        load_dataset("mnist", download_dir=tmp_path / "cache", progress=False)
    assert list(calls[0]) == list(sources.ROLES)
    assert calls[0]["train_images"] == "https://storage.googleapis.com/cvdf-datasets/mnist/train-images-idx3-ubyte.gz"


def test_offline_without_cache_fails_before_any_download(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(sources, "is_reachable", lambda url, timeout_s=sources.PROBE_TIMEOUT_S: False)
    monkeypatch.setattr(tfds.download.DownloadManager, "download", lambda self, urls: calls.append(urls))
    with pytest.raises(DataError) as error:
        load_dataset("mnist", download_dir=tmp_path, progress=False)
    message = str(error.value)
    assert message.startswith("mnist: cannot download from storage.googleapis.com")
    assert "--data-dir" in message and "ROBUSTBENCH_KERAS_DATA_DIR" in message and "\n" not in message
    assert calls == []


def test_probe_sees_a_listening_port_and_a_closed_one():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert sources.is_reachable(f"http://127.0.0.1:{port}/")
    # The port was just released: nothing listens on it any more.
    assert not sources.is_reachable(f"http://127.0.0.1:{port}/", timeout_s=1.0)


def test_local_files_are_found_under_their_official_names(tiny_dir):
    paths = sources.local_files("mnist", tiny_dir)
    assert {role: path.name for role, path in paths.items()} == {
        role: file.filename for role, file in sources.OFFICIAL["mnist"].files.items()
    }


def _parent_with(tmp_path, sub_folders):
    """A parent data folder whose sub-folders are symbolic links: {name: target folder}."""
    parent = tmp_path / "data"
    parent.mkdir()
    for sub, target in sub_folders.items():
        (parent / sub).symlink_to(target, target_is_directory=True)
    return parent


def test_a_parent_folder_serves_each_dataset_from_its_sub_folder(tmp_path, mnist_dir, mnist):
    parent = _parent_with(tmp_path, {"mnist": mnist_dir, "fashion-mnist": FASHION_DIR})
    assert {path.parent.name for path in sources.local_files("mnist", parent).values()} == {"mnist"}
    assert {path.parent.name for path in sources.local_files("fashion_mnist", parent).values()} == {"fashion-mnist"}
    from_parent = load_dataset("mnist", data_dir=parent, progress=False)
    assert from_parent.fingerprint["id"] == mnist.fingerprint["id"]
    fashion = load_dataset("fashion_mnist", data_dir=parent, progress=False)
    assert fashion.fingerprint["dataset"] == "fashion_mnist"
    direct = load_dataset("fashion_mnist", data_dir=FASHION_DIR, progress=False)
    assert fashion.fingerprint["id"] == direct.fingerprint["id"]
    assert all(record["official"] for record in fashion.fingerprint["files"].values())


def test_the_underscore_sub_folder_name_works_too(tmp_path, tiny_dir):
    parent = _parent_with(tmp_path, {"fashion_mnist": tiny_dir})
    ds = load_dataset("fashion_mnist", data_dir=parent, progress=False)
    assert ds.name == "fashion_mnist" and ds.y_train.tolist() == [7, 0, 9]


def test_two_sub_folders_for_one_dataset_are_refused(tmp_path, tiny_dir):
    parent = _parent_with(tmp_path, {"fashion_mnist": tiny_dir, "fashion-mnist": tiny_dir})
    expected = r"data: both fashion_mnist/ and fashion-mnist/ could hold fashion_mnist; keep one of them$"
    with pytest.raises(DataError, match=expected):
        load_dataset("fashion_mnist", data_dir=parent, progress=False)


def test_a_parent_folder_without_the_dataset_names_the_sub_folder(tmp_path, mnist_dir):
    parent = _parent_with(tmp_path, {"mnist": mnist_dir})
    expected = r"data/train-images-idx3-ubyte\.gz: missing; .*a parent folder with a fashion_mnist/ sub-folder\)"
    with pytest.raises(DataError, match=expected):
        load_dataset("fashion_mnist", data_dir=parent, progress=False)


@pytest.mark.parametrize(
    "folder, found, asked", [("mnist", "mnist", "fashion_mnist"), ("fashion", "fashion_mnist", "mnist")]
)
def test_another_datasets_folder_is_refused_in_one_line(folder, found, asked, mnist_dir):
    data_dir = mnist_dir if folder == "mnist" else FASHION_DIR
    with pytest.raises(DataError) as error:
        load_dataset(asked, data_dir=data_dir, progress=False)
    message = str(error.value)
    assert message.startswith(
        f"{data_dir}: holds {found} files, not {asked} "
        f"(t10k-labels-idx1-ubyte.gz is {found}'s official test-label file); "
        f"point --data-dir (or the environment variable ROBUSTBENCH_KERAS_DATA_DIR) at the {asked} folder, "
        "or at a parent folder with one sub-folder per dataset (mnist/, fashion_mnist/, fashion-mnist/)"
    )
    assert "\n" not in message


def test_recompressed_test_labels_are_still_recognised(tiny_dir, mnist_dir):
    """Debian re-compressed Fashion-MNIST: the IDX bytes, not the .gz, identify the dataset."""
    official = (Path(mnist_dir) / "t10k-labels-idx1-ubyte.gz").read_bytes()
    recompressed = gzip.compress(gzip.decompress(official), compresslevel=1, mtime=0)
    assert recompressed != official
    (tiny_dir / "t10k-labels-idx1-ubyte.gz").write_bytes(recompressed)
    assert sources.recognise(tiny_dir / "t10k-labels-idx1-ubyte.gz") == "mnist"
    with pytest.raises(DataError, match=r"tiny: holds mnist files, not fashion_mnist"):
        load_dataset("fashion_mnist", data_dir=tiny_dir, progress=False)
    # Asked for MNIST, the same folder passes the check and fails later, on its own merits.
    with pytest.raises(DataError, match=r"2 images but t10k-labels-idx1-ubyte\.gz has 10,000 labels"):
        load_dataset("mnist", data_dir=tiny_dir, progress=False)


def test_unknown_files_are_recognised_as_no_dataset(tiny_dir):
    assert sources.recognise(tiny_dir / "t10k-labels-idx1-ubyte.gz") is None
