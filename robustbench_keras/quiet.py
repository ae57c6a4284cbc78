"""Keep TensorFlow's start-up noise off the user's terminal.

TensorFlow 2.21 writes its start-up lines (oneDNN, CUDA stubs, cuInit) through absl before its log
level is read, so no environment variable silences them: the package imports TensorFlow and lets it
probe devices once with the process's stderr sent to /dev/null. Later TensorFlow warnings and errors
still reach stderr. Imported by the package's `__init__`, before anything else touches TensorFlow.
"""

import contextlib
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# tensorflow-probability imports distutils-era code that warns on every start: filter that warning only.
warnings.filterwarnings("ignore", message=r".*distutils.*", category=DeprecationWarning)


@contextlib.contextmanager
def _stderr_to_devnull():
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Imports TensorFlow with its start-up lines silenced; returns the module."""
    with _stderr_to_devnull():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # device probing logs a cuInit error on CPU machines
    tf.get_logger().setLevel("ERROR")
    return tf


import_tensorflow()
