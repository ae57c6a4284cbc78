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
- hostile archives: zip bombs, absolute or `..` entry paths, entries named twice, an enormous or
  deeply nested `config.json` (`submission.archive`, which reads only the archive's directory and
  `config.json`);
- in safe mode (the default), any executable payload in `config.json`: a `Lambda` layer, Python
  bytecode (`__lambda__`), a class that is not a built-in Keras modelling class (layers, operations,
  initializers, regularizers, constraints, dtype policies, optimizers, losses, metrics), a
  registered or unknown custom class, a function outside Keras's activations / losses / metrics /
  initializers / regularizers / constraints, and the layers that run foreign code (`TFSMLayer`,
  `TorchModuleWrapper`, `JaxLayer`, `FlaxLayer`). The project's own data-only layers (`PROJECT_LAYERS`:
  the zoo's `RandomMask`, a fixed 0/1 mask stored as a weight) are allowed by registered name.

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

import pathlib
import shutil
import sys
import tempfile

import keras

from robustbench_keras.defenses import random_mask
from robustbench_keras.errors import ModelError
from robustbench_keras.submission.archive import check_size, read_config

DEFAULT_MAX_SIZE_BYTES = 200 * 1024 * 1024
TRUST_HINT = "--trust-model-code allows it"

# Values of "class_name" that Keras decodes as plain data (tensors, arrays, bytes, slices).
DATA_CLASS_NAMES = frozenset(
    {"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__"}
)
# Built-in layers whose job is to run code from outside the config: refused by class name, subclasses too.
FOREIGN_CODE_LAYERS = frozenset({"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"})
# The project's own layers, data only (a fixed mask as a weight): allowed in safe mode, by registered name.
PROJECT_LAYERS = {random_mask.REGISTERED_NAME: random_mask.RandomMask}
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
    check_size(path, path.stat().st_size, max_size_bytes)
    with tempfile.TemporaryDirectory(prefix="robustbench_keras_submission_") as folder:
        copy = pathlib.Path(folder) / "model.keras"
        shutil.copyfile(path, copy)
        check_size(path, copy.stat().st_size, max_size_bytes)
        config = read_config(path, copy, max_size_bytes)
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


def audit_config(config, path):
    """Refuses a `config.json` naming anything but built-in Keras modelling classes and functions.

    Args:
        config: the parsed `config.json` of a `.keras` archive.
        path: the model file, for messages.

    Raises:
        ModelError: at the first executable or unknown object, naming its layer.
    """
    top_level = {key: value for key, value in config.items() if key != "compile_config"}
    custom_names = frozenset(keras.saving.get_custom_objects()) - frozenset(PROJECT_LAYERS)
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
    if not isinstance(class_name, str):
        raise ModelError(f"{path}: {where} has a class_name that is not a string; not a Keras model file")
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
    project_layer = PROJECT_LAYERS.get(registered_name) if isinstance(registered_name, str) else None
    if project_layer is not None and project_layer.__name__ == class_name:
        return f"layer '{name}'"
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
