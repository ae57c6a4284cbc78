"""Where the four IDX `.gz` files come from: a local folder, or tensorflow-datasets' download manager.

A local folder is the dataset's own folder or a parent with one sub-folder per dataset (`mnist/`,
`fashion_mnist/`); files that are recognisably another dataset's are refused, so that one data-folder
setting cannot make a Fashion-MNIST suite read MNIST.

Both sources only locate files; `robustbench_keras.data` decodes them with the same code, so the
same files give the same arrays whichever source found them. tensorflow-datasets' own `mnist`
builder is not used because it reorders the examples, and the paper's P1/P2 splits need the IDX order.

`OFFICIAL` declares each dataset's files as tensorflow-datasets does (`url_checksums/mnist.txt`,
`url_checksums/fashion_mnist.txt`: URL, size and sha256 of the `.gz` as served) plus the sha256 of
the decompressed IDX bytes, published by many independent mirrors and, for the MNIST test files,
the training labels and all of Fashion-MNIST, recomputed here from byte-identical local copies.
"""

import dataclasses
import socket
import threading
import urllib.parse
from pathlib import Path

from robustbench_keras.data import idx
from robustbench_keras.data.fingerprint import sha256_hex
from robustbench_keras.errors import DataError

ROLES = ("train_images", "train_labels", "test_images", "test_labels")
DATA_DIR_OPTION = "--data-dir (or the environment variable ROBUSTBENCH_KERAS_DATA_DIR)"
PROBE_TIMEOUT_S = 3.0
# Sub-folders of a parent data folder that hold a dataset, first the name errors suggest.
FOLDER_NAMES = {"mnist": ("mnist",), "fashion_mnist": ("fashion_mnist", "fashion-mnist")}


@dataclasses.dataclass(frozen=True)
class OfficialFile:
    """One official file of a dataset.

    Attributes:
        filename: the file's name, e.g. "train-images-idx3-ubyte.gz".
        size: the `.gz` file's size in bytes, as served.
        sha256: sha256 of the `.gz` file as served.
        content_sha256: sha256 of the decompressed IDX bytes.
    """

    filename: str
    size: int
    sha256: str
    content_sha256: str


@dataclasses.dataclass(frozen=True)
class OfficialDataset:
    """A dataset's download location and its four files, keyed by role (see `ROLES`)."""

    base_url: str
    files: dict

    def url(self, role):
        """The download URL of the file playing `role`."""
        return urllib.parse.urljoin(self.base_url, self.files[role].filename)


OFFICIAL = {
    "mnist": OfficialDataset(
        base_url="https://storage.googleapis.com/cvdf-datasets/mnist/",
        files={
            "train_images": OfficialFile(
                "train-images-idx3-ubyte.gz",
                9912422,
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            ),
            "train_labels": OfficialFile(
                "train-labels-idx1-ubyte.gz",
                28881,
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            ),
            "test_images": OfficialFile(
                "t10k-images-idx3-ubyte.gz",
                1648877,
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            ),
            "test_labels": OfficialFile(
                "t10k-labels-idx1-ubyte.gz",
                4542,
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        },
    ),
    "fashion_mnist": OfficialDataset(
        base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        files={
            "train_images": OfficialFile(
                "train-images-idx3-ubyte.gz",
                26421880,
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            ),
            "train_labels": OfficialFile(
                "train-labels-idx1-ubyte.gz",
                29515,
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            ),
            "test_images": OfficialFile(
                "t10k-images-idx3-ubyte.gz",
                4422102,
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            ),
            "test_labels": OfficialFile(
                "t10k-labels-idx1-ubyte.gz",
                5148,
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ),
        },
    ),
}


def local_files(name, data_dir):
    """Finds a dataset's four `.gz` files in a local folder, and refuses another dataset's files.

    `data_dir` is either the folder of the four files or a parent folder with one sub-folder per
    dataset, named as in `FOLDER_NAMES` (`mnist/`, `fashion_mnist/` or `fashion-mnist/`); a sub-folder
    named for the dataset is used when there is one. MNIST and Fashion-MNIST use the same file names,
    so the test-label file, official in the local copies of both, tells them apart.

    Args:
        name: a key of `OFFICIAL`.
        data_dir: the dataset's folder, or a parent folder with a sub-folder named for the dataset.

    Returns:
        dict role -> Path.

    Raises:
        DataError: the folder or one of the files is missing, two sub-folders name the dataset, or
            the files are recognisably another dataset's.
    """
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise DataError(
            f"{folder}: data folder not found; point {DATA_DIR_OPTION} at the folder with the IDX .gz files"
        )
    folder = _dataset_folder(name, folder)
    paths = {role: folder / official.filename for role, official in OFFICIAL[name].files.items()}
    for path in paths.values():
        if not path.is_file():
            raise DataError(
                f"{path}: missing; the {name} folder needs "
                f"{', '.join(official.filename for official in OFFICIAL[name].files.values())}"
                f" (or give a parent folder with a {FOLDER_NAMES[name][0]}/ sub-folder)"
            )
    _refuse_other_dataset(name, folder, paths["test_labels"])
    return paths


def _dataset_folder(name, folder):
    """`folder`'s sub-folder named for the dataset if it has one, else `folder` itself."""
    found = [folder / sub for sub in FOLDER_NAMES[name] if (folder / sub).is_dir()]
    if len(found) > 1:
        raise DataError(
            f"{folder}: both {' and '.join(path.name + '/' for path in found)} could hold {name}; keep one of them"
        )
    return found[0] if found else folder


def recognise(test_labels_path):
    """The dataset whose official test-label file this is (by the `.gz` or the IDX bytes' sha256), or None."""
    compressed = test_labels_path.read_bytes()
    gz_sha256 = sha256_hex(compressed)
    content_sha256 = sha256_hex(idx.gunzip(compressed, str(test_labels_path)))
    for name, official in OFFICIAL.items():
        file = official.files["test_labels"]
        if gz_sha256 == file.sha256 or content_sha256 == file.content_sha256:
            return name
    return None


def _refuse_other_dataset(name, folder, test_labels_path):
    found = recognise(test_labels_path)
    if found is not None and found != name:
        raise DataError(
            f"{folder}: holds {found} files, not {name} ({test_labels_path.name} is {found}'s official "
            f"test-label file); point {DATA_DIR_OPTION} at the {name} folder, or at a parent folder with "
            f"one sub-folder per dataset ({', '.join(sub + '/' for subs in FOLDER_NAMES.values() for sub in subs)})"
        )


def default_download_dir():
    """tensorflow-datasets' default download cache: `<tfds data dir>/downloads` (honours TFDS_DATA_DIR)."""
    from tensorflow_datasets.core import constants

    return Path(constants.DATA_DIR) / "downloads"


def is_reachable(url, timeout_s=PROBE_TIMEOUT_S):
    """Whether a TCP connection to `url`'s host opens within `timeout_s` seconds.

    The connection (name lookup included) runs in a daemon thread, so a hanging DNS lookup
    cannot hold the caller longer than `timeout_s`.
    """
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    result = []

    def connect():
        try:
            with socket.create_connection((parts.hostname, port), timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout_s)
    return bool(result and result[0])


def downloaded_files(name, download_dir=None):
    """Fetches a dataset's four official `.gz` files through tensorflow-datasets' download manager.

    Cached files are used without touching the network. Otherwise the download host is probed first,
    so that a machine without network fails within seconds instead of in tensorflow-datasets' retries.
    The download manager checks each new download's size and sha256 against `OFFICIAL`; it trusts
    its cache, whose files `load_dataset` then checks by the sha256 of their decompressed content.

    Args:
        name: a key of `OFFICIAL`.
        download_dir: the download cache; None: `default_download_dir()`.

    Returns:
        dict role -> Path of the cached file.

    Raises:
        DataError: nothing cached and the host is unreachable, the download failed, or a
            downloaded file does not match its official checksum.
    """
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download import checksums, resource
    from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError

    official = OFFICIAL[name]
    download_dir = Path(download_dir).expanduser() if download_dir else default_download_dir()
    urls = {role: official.url(role) for role in ROLES}
    url_infos = {
        urls[role]: checksums.UrlInfo(size=file.size, checksum=file.sha256, filename=file.filename)
        for role, file in official.files.items()
    }
    cached = all(
        resource.is_locally_cached(download_dir / resource.get_dl_fname(urls[role], official.files[role].sha256))
        for role in ROLES
    )
    if not cached and not is_reachable(official.base_url):
        raise DataError(
            f"{name}: cannot download from {urllib.parse.urlsplit(official.base_url).hostname} (no network?) "
            f"and {download_dir} holds no cached copy; point {DATA_DIR_OPTION} at a folder with the four IDX .gz files"
        )
    manager = tfds.download.DownloadManager(download_dir=download_dir, url_infos=url_infos)
    try:
        paths = manager.download(urls)
    except tfds.download.DownloadError as error:
        message = " ".join(str(error).split())
        raise DataError(
            f"{name}: download failed ({message}); retry, or point {DATA_DIR_OPTION} at local files"
        ) from None
    except NonMatchingChecksumError as error:
        message = " ".join(str(error).split())
        raise DataError(f"{name}: downloaded file does not match its official checksum: {message}") from None
    return {role: Path(paths[role]) for role in ROLES}
