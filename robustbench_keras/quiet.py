"""Keep TensorFlow's start-up noise off the user's terminal.

TensorFlow 2.21 writes its start-up lines (oneDNN, CUDA stubs, cuInit) through absl before its log
level is read, so no environment variable silences them: `import_tensorflow()` imports TensorFlow and
lets it probe devices once with the process's stderr sent to /dev/null. Later TensorFlow warnings and
errors still reach stderr. The package's `__init__` imports this module, which only sets the log
variables, so importing the package stays cheap; every module using TensorFlow or Keras calls
`import_tensorflow()` before its first `import tensorflow` or `import keras`.
"""

import contextlib
import functools
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


@functools.cache
def import_tensorflow():
    """Imports TensorFlow with its start-up lines silenced (once per process); returns the module."""
    with _stderr_to_devnull():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # device probing logs a cuInit error on CPU machines
    tf.get_logger().setLevel("ERROR")
    return tf
