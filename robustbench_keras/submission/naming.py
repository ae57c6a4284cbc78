"""What a submission is called and where its copy is kept beside the leaderboard."""

import re
from pathlib import Path

from robustbench_keras.errors import ModelError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_name(name, zoo_ids):
    """Refuses a name that is not file-name safe or that is a zoo model id (ModelError, one line)."""
    if not name or not NAME_PATTERN.match(name):
        raise ModelError(f"--name: expected letters, digits, '.', '_' or '-' (at most 100), got '{name}'")
    if name in zoo_ids:
        raise ModelError(f"--name: '{name}' is a zoo model id; choose another name")


def submission_path(output, name):
    """Where a submitted model's copy is kept: `<output>/submissions/<name>.keras`."""
    return Path(output) / "submissions" / f"{name}.keras"


def describe_architecture(model):
    """A one-line description: the layer classes with their sizes, e.g. "Flatten > Dense(128) > Dense(10)"."""
    parts = []
    for layer in model.layers:
        size = getattr(layer, "units", None) or getattr(layer, "filters", None)
        parts.append(f"{type(layer).__name__}({size})" if size else type(layer).__name__)
    return " > ".join(part for part in parts if part != "InputLayer")
