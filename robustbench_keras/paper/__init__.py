"""The paper's own numbers for Tables 1-5 and Section 4.2 (Szegedy et al. 2014, arXiv 1312.6199), as data.

`paper/szegedy2014.json`, shipped as package data, holds them: error rates as fractions, with a
source note. It is their only copy (the zoo reads its paper errors from it). Model ids match the zoo's (`fc10_wd1e-4`, ..., `fc100_100_10_p2`); Table 5's layers are AlexNet's
`conv1`..`conv5`, `fc1`..`fc3`.
`paper/xiao2019.json` holds the values of Xiao et al. 2019 (arXiv 1809.03008) the verification scorer
compares with (`load_xiao2019`).
"""

import json
from importlib import resources
from pathlib import Path

import jsonschema

from robustbench_keras.errors import LeaderboardError

PACKAGED_NAME = "szegedy2014.json"

_RATE = {"type": "number", "minimum": 0, "maximum": 1}
_ERRORS_ON = {"type": "object", "additionalProperties": _RATE}
_CONTROLS = {
    "type": "array",
    "items": {"type": "object", "required": ["label", "stddev", "errors_on", "distortion_rms"],
              "properties": {"errors_on": _ERRORS_ON}},
}
_TRANSFER_ROWS = {
    "type": "array",
    "items": {"type": "object", "required": ["model", "errors_on", "distortion_mean"],
              "properties": {"errors_on": _ERRORS_ON}},
}


def _rows(*keys):
    return {
        "type": "array",
        "items": {"type": "object", "required": ["model", "paper_name", *keys],
                  "properties": {key: _RATE for key in keys if key.endswith("_error")}},
    }


# The shape renderers rely on; the values themselves are checked against the paper in the tests.
SCHEMA = {
    "type": "object",
    "required": ["schema_version", "source", "table1", "table2", "table3", "table4", "table5"],
    "properties": {
        "schema_version": {"const": "1.0"},
        "table1": {"type": "object", "required": ["rows"],
                   "properties": {"rows": _rows("train_error", "test_error", "distortion_mean")}},
        "table2": {"type": "object", "required": ["columns", "rows", "controls"],
                   "properties": {"rows": _TRANSFER_ROWS, "controls": _CONTROLS}},
        "table3": {"type": "object", "required": ["rows"],
                   "properties": {"rows": _rows("p1_error", "p2_error", "test_error", "distortion_mean")}},
        "table4": {"type": "object", "required": ["columns", "rows", "controls", "magnified"],
                   "properties": {"rows": _TRANSFER_ROWS, "controls": _CONTROLS,
                                  "magnified": {"type": "object", "required": ["stddev", "rows", "controls"],
                                                "properties": {"rows": _TRANSFER_ROWS, "controls": _CONTROLS}}}},
        "section4_2": {"type": "object", "required": ["rows"], "properties": {"rows": {"type": "array", "items": {
            "type": "object", "required": ["model", "paper_name", "test_error", "relation"],
            "properties": {"test_error": _RATE, "relation": {"enum": ["equal", "about", "below"]}}}}}},
        "table5": {"type": "object", "required": ["model", "layers"],
                   "properties": {"layers": {"type": "array", "items": {
                       "type": "object", "required": ["name", "kind", "shape", "stride", "bound"]}}}},
    },
}


def load_baselines(path=None):
    """Reads the paper's values.

    Args:
        path: a baselines JSON file; None reads the packaged `paper/szegedy2014.json`.

    Returns:
        The baselines as a dict: `source`, `table1` ... `table5` (see the file).

    Raises:
        LeaderboardError: the file is missing, not JSON, or not shaped like a baselines file.
    """
    packaged = resources.files("robustbench_keras.paper").joinpath(PACKAGED_NAME)
    source = packaged if path is None else Path(path)
    try:
        baselines = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LeaderboardError(
            f"{source}: baselines file not found (expected a baselines JSON file like {PACKAGED_NAME})"
        ) from None
    except ValueError as error:
        raise LeaderboardError(f"{source}: corrupt baselines file, expected JSON, got: {error}") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(baselines))
    if error is not None:
        raise LeaderboardError(
            f"{source}: {error.json_path}: {error.message} (not a baselines file)"
        )
    return baselines


def load_xiao2019():
    """Xiao et al. 2019's MNIST values (packaged `paper/xiao2019.json`): verified accuracy at ε = 0.1, speed-up range."""
    packaged = resources.files("robustbench_keras.paper").joinpath("xiao2019.json")
    return json.loads(packaged.read_text(encoding="utf-8"))
