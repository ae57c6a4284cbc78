"""Safe loading of a submitted model file: the file is inspected before any of it is deserialised.

Only the Keras 3 native format is accepted: a `.keras` zip archive holding `config.json` (the
architecture as JSON) and the weights. The file's kind is decided by its content, never its name.

Refused, each with a one-line `ModelError`:

- a missing path, a folder, or a file above `max_size_bytes` (declared uncompressed size included);
- a pickle (protocol magic `0x80 0x02..0x05`, or a protocol-0/1 stream that `pickletools` parses to
  its STOP opcode), and a zip of pickles such as a PyTorch checkpoint. Nothing is ever unpickled;
- legacy HDF5 (`.h5`) files and TensorFlow SavedModel folders. Keras 3.15 can read `.h5` with
  `safe_mode`, but that loader has had its own safe-mode bypass (CVE-2025-9905) and a SavedModel can
  only come back as a `TFSMLayer` that runs an arbitrary TensorFlow graph. Both are refused with the
  one-line conversion: `keras.saving.load_model("model.h5").save("model.keras")`, run where the model
  was built;
- in safe mode (the default), any executable payload in `config.json`: a `Lambda` layer, Python
  bytecode (`__lambda__`), a class that is not a built-in Keras modelling class (layers, operations,
  initializers, regularizers, constraints, dtype policies, optimizers, losses, metrics), a
  registered or unknown custom class, a function outside Keras's activations / losses / metrics /
  initializers / regularizers / constraints, and the layers that run foreign code (`TFSMLayer`,
  `TorchModuleWrapper`, `JaxLayer`, `FlaxLayer`).

Why our own audit of `config.json` on top of `keras.saving.load_model(safe_mode=True)`: Keras's safe
mode only refuses Python bytecode (`__lambda__`). It resolves any object already registered in the
process, any public `keras.*` function by name (its deny-list of "non-modelling" APIs has been
bypassed repeatedly: CVE-2025-1550, CVE-2025-8747, CVE-2025-9906), and a process-wide
`keras.config.enable_unsafe_deserialization()` overrides it. The audit is an allow-list applied to
the JSON, which cannot run code; classes are looked up only in Keras modules already imported, and
nothing is imported. The top-level `compile_config` is not audited because the model is loaded with
`compile=False`, which discards it. Weights are read by Keras from `model.weights.h5` (h5py) or
`model.weights.npz` (`allow_pickle=False`): data only.

With `trust_model_code=True` the audit is skipped and Keras loads with `safe_mode=False`: Lambda
layers and registered custom classes then load (and their code runs). Only use it for files you trust.
"""

import json
import os
import pathlib
import pickletools
import shutil
import sys
import tempfile
import zipfile

import keras

from robustbench_keras.errors import ModelError

DEFAULT_MAX_SIZE_BYTES = 200 * 1024 * 1024
CONFIG_NAME = "config.json"
MAX_CONFIG_BYTES = 16 * 1024 * 1024

TRUST_HINT = "--trust-model-code allows it"
CONVERT_HINT = 'convert it where it was built: keras.saving.load_model("model.h5").save("model.keras")'
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
PICKLE_PROTOCOL_OPCODE = 0x80
PICKLE_PROTOCOLS_WITH_MAGIC = range(2, 6)

# Values of "class_name" that Keras decodes as plain data (tensors, arrays, bytes, slices).
DATA_CLASS_NAMES = frozenset(
    {"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__"}
)
# Built-in layers whose job is to run code from outside the config: refused by class name, subclasses too.
FOREIGN_CODE_LAYERS = frozenset({"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"})
# Public Keras namespaces whose functions may appear by name ("relu", "glorot_uniform", ...).
FUNCTION_NAMESPACES = ("activations", "losses", "metrics", "initializers", "regularizers", "constraints")


def _modelling_bases():
    """The base classes of every class a model file may name."""
    return (
        keras.Operation,  # layers, models and keras.ops operations
        keras.initializers.Initializer,
        keras.regularizers.Regularizer,
        keras.constraints.Constraint,
        keras.DTypePolicy,
        keras.quantizers.Quantizer,
        keras.optimizers.Optimizer,
        keras.optimizers.schedules.LearningRateSchedule,
        keras.losses.Loss,
        keras.metrics.Metric,
    )


def load_submitted_model(path, trust_model_code=False, max_size_bytes=DEFAULT_MAX_SIZE_BYTES):
    """Loads a submitted `.keras` model file without running any code it carries.

    The file is first copied to a private temporary folder, so the bytes inspected are the bytes loaded.

    Args:
        path: the model file (str or path-like). Its kind is read from its content, not its name.
        trust_model_code: skip the config audit and load with Keras `safe_mode=False`, so Lambda layers
            and registered custom classes load and their code runs. Only for files you trust.
        max_size_bytes: the largest accepted file, and the largest declared uncompressed archive.

    Returns:
        The `keras.Model`, uncompiled.

    Raises:
        ModelError: one line naming the file, the problem and the fix (see the module docstring).
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such file; give the path of a model saved with model.save('model.keras')")
    if path.is_dir():
        _refuse_folder(path)
    _check_size(path, path.stat().st_size, max_size_bytes)
    with tempfile.TemporaryDirectory(prefix="robustbench_keras_submission_") as folder:
        copy = pathlib.Path(folder) / "model.keras"
        shutil.copyfile(path, copy)
        _check_size(path, copy.stat().st_size, max_size_bytes)
        config = _read_config(path, copy, max_size_bytes)
        if not trust_model_code:
            audit_config(config, path)
        return _load(path, copy, trust_model_code)


def _refuse_folder(path):
    if (path / "saved_model.pb").exists():
        raise ModelError(
            f"{path}: a TensorFlow SavedModel folder is not accepted (it can only run as an opaque graph); "
            "re-save the Keras model with model.save('model.keras')"
        )
    raise ModelError(f"{path}: is a folder; give a single model file saved with model.save('model.keras')")


def _check_size(path, num_bytes, max_size_bytes, what="file is"):
    if num_bytes > max_size_bytes:
        raise ModelError(
            f"{path}: {what} {_format_size(num_bytes)}, above the {_format_size(max_size_bytes)} limit; "
            "submit a smaller model or raise the limit (--max-model-size-mb)"
        )


def _format_size(num_bytes):
    return f"{num_bytes / 1e6:.1f} MB" if num_bytes >= 100_000 else f"{num_bytes} bytes"


def _read_config(path, copy, max_size_bytes):
    """Checks the file's kind and returns its parsed `config.json`."""
    with open(copy, "rb") as stream:
        head = stream.read(len(HDF5_SIGNATURE))
    if head.startswith(HDF5_SIGNATURE):
        raise ModelError(f"{path}: legacy HDF5 (.h5) model files are not accepted; {CONVERT_HINT}")
    if _is_pickle(copy, head):
        raise ModelError(
            f"{path}: is a Python pickle, refused without being opened (unpickling runs arbitrary code); "
            "save the model with model.save('model.keras')"
        )
    if not zipfile.is_zipfile(copy):
        raise ModelError(
            f"{path}: not a model file (expected a .keras zip archive with {CONFIG_NAME}); "
            "save the model with model.save('model.keras')"
        )
    with zipfile.ZipFile(copy) as archive:
        members = archive.infolist()
        names = [member.filename for member in members]
        if any(name.endswith((".pkl", ".pickle")) for name in names):
            raise ModelError(
                f"{path}: is a zip of Python pickles (e.g. a PyTorch checkpoint), refused without being opened; "
                "submit a Keras model saved with model.save('model.keras')"
            )
        if CONFIG_NAME not in names:
            raise ModelError(
                f"{path}: not a model file (a zip archive without {CONFIG_NAME}); "
                "save the model with model.save('model.keras')"
            )
        _check_size(path, sum(member.file_size for member in members), max_size_bytes, "archive unpacks to")
        if archive.getinfo(CONFIG_NAME).file_size > MAX_CONFIG_BYTES:
            raise ModelError(f"{path}: {CONFIG_NAME} is above {MAX_CONFIG_BYTES / 1e6:.0f} MB; not a plain model")
        text = archive.read(CONFIG_NAME)
    try:
        config = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelError(f"{path}: {CONFIG_NAME} is not valid JSON ({error}); re-save with model.save") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelError(f"{path}: {CONFIG_NAME} does not describe a Keras object; re-save with model.save")
    return config


def _is_pickle(copy, head):
    """True for a pickle stream, decided by parsing opcodes only (`pickletools` never executes them)."""
    if len(head) >= 2 and head[0] == PICKLE_PROTOCOL_OPCODE and head[1] in PICKLE_PROTOCOLS_WITH_MAGIC:
        return True
    if zipfile.is_zipfile(copy):
        return False
    # Protocols 0 and 1 have no magic: a stream that disassembles cleanly up to STOP is a pickle.
    with open(copy, "rb") as stream, open(os.devnull, "w") as sink:
        try:
            pickletools.dis(stream, out=sink)
        except (ValueError, EOFError, UnicodeDecodeError, IndexError):
            return False
    return True


def audit_config(config, path):
    """Refuses a `config.json` naming anything but built-in Keras modelling classes and functions.

    Args:
        config: the parsed `config.json` of a `.keras` archive.
        path: the model file, for messages.

    Raises:
        ModelError: at the first executable or unknown object, naming its layer.
    """
    top_level = {key: value for key, value in config.items() if key != "compile_config"}
    custom_names = frozenset(keras.saving.get_custom_objects())
    _audit(top_level, path, "the model", custom_names)


def _audit(root, path, where, custom_names):
    # Iterative: a hostile config may nest deeper than Python's recursion limit.
    stack = [(root, where)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str) and node in custom_names:
            raise ModelError(
                f"{path}: {where} names the registered custom object '{node}', refused in safe mode ({TRUST_HINT})"
            )
        if isinstance(node, dict):
            if "class_name" in node:  # Keras decodes such a dict as an object (with "config") or by name
                where = _audit_object(node, path, where)
            stack.extend((value, where) for value in node.values())
        elif isinstance(node, list):
            stack.extend((item, where) for item in node)


def _audit_object(node, path, where):
    """Checks one serialised object; returns the description of where its children live."""
    class_name = node["class_name"]
    if class_name in DATA_CLASS_NAMES:
        return where
    if class_name == "__lambda__":
        raise ModelError(f"{path}: {where} contains Python bytecode (a lambda), refused in safe mode ({TRUST_HINT})")
    module = node.get("module")
    if class_name == "function":
        _audit_function(node, path, where)
        return where
    config = node.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    itself = where if name is None else f"'{name}'"
    registered_name = node.get("registered_name")
    if registered_name not in (None, class_name):
        raise ModelError(
            f"{path}: {itself} is the custom class '{registered_name}', refused in safe mode ({TRUST_HINT})"
        )
    cls = _imported_keras_symbol(module, class_name)
    if not (isinstance(cls, type) and issubclass(cls, _modelling_bases())):
        raise ModelError(
            f"{path}: {itself} is '{module}.{class_name}', not a built-in Keras modelling class "
            f"(custom code is refused in safe mode; {TRUST_HINT})"
        )
    if not issubclass(cls, keras.layers.Layer):
        return where
    foreign = [base.__name__ for base in cls.__mro__ if base.__name__ in FOREIGN_CODE_LAYERS]
    if foreign:
        raise ModelError(f"{path}: layer '{name}' is a {foreign[0]} layer, refused in safe mode ({TRUST_HINT})")
    return f"{'model' if issubclass(cls, keras.Model) else 'layer'} '{name}'"


def _audit_function(node, path, where):
    name, module = node.get("config"), node.get("module")
    if isinstance(name, str):
        if module == "builtins":
            candidates = [f"keras.{namespace}" for namespace in FUNCTION_NAMESPACES]
        else:
            candidates = [module] if module in {f"keras.{ns}" for ns in FUNCTION_NAMESPACES} else []
        if any(callable(_imported_keras_symbol(candidate, name)) for candidate in candidates):
            return
    raise ModelError(
        f"{path}: {where} calls the function '{module}.{name}', which is not a built-in Keras activation, "
        f"loss, metric, initializer, regularizer or constraint (refused in safe mode; {TRUST_HINT})"
    )


def _imported_keras_symbol(module, name):
    """`module.name` if `module` is a Keras module this process has already imported; never imports."""
    if not isinstance(module, str) or not isinstance(name, str):
        return None
    if (module != "keras" and not module.startswith("keras.")) or module not in sys.modules:
        return None
    return getattr(sys.modules[module], name, None)


def _load(path, copy, trust_model_code):
    try:
        model = keras.saving.load_model(copy, compile=False, safe_mode=not trust_model_code)
    except (ValueError, TypeError, KeyError, AttributeError, OSError, RuntimeError) as error:
        detail = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        hint = "" if trust_model_code else f" ({TRUST_HINT} if it needs custom code)"
        raise ModelError(f"{path}: Keras could not load the model: {detail}{hint}") from None
    if not isinstance(model, keras.Model):
        raise ModelError(
            f"{path}: holds a {type(model).__name__}, not a model; save a keras.Model with model.save('model.keras')"
        )
    return model
