"""Typed settings from suite sections: frozen dataclasses built from YAML mappings, checked once.

`build_settings(SettingsClass, section, where)` refuses unknown keys (listing the known ones) and
values of the wrong type with one `SuiteError` line; the dataclass's `__post_init__` checks ranges.
Every settings object of a suite (attack, scorers) is made here, at load time.
"""

import dataclasses
import types
import typing

from robustbench_keras.errors import SuiteError


def build_settings(settings_class, raw, where):
    """Builds a frozen settings dataclass from a dict, checking unknown keys and value types.

    Args:
        settings_class: a dataclass whose fields carry type annotations.
        raw: the suite's section.
        where: prefix of error messages, e.g. "suites/mnist.yaml: scorers.transfer".

    Raises:
        SuiteError: on an unknown key or a value of the wrong type.
    """
    hints = typing.get_type_hints(settings_class)
    fields = {f.name for f in dataclasses.fields(settings_class) if f.init}
    for key, value in raw.items():
        if key not in fields:
            raise SuiteError(f"{where}: unknown key '{key}' (known: {', '.join(sorted(fields))})")
        check_type(value, hints[key], f"{where}.{key}")
    converted = {key: tuple(value) if isinstance(value, list) else value for key, value in raw.items()}
    converted = {key: float(value) if hints[key] is float else value for key, value in converted.items()}
    try:
        return settings_class(**converted)
    except (ValueError, SuiteError) as error:
        raise SuiteError(f"{where}: {error}") from None


def check_type(value, expected, where):
    """Raises SuiteError unless `value` fits the annotation `expected` (int, float, str, bool, Optional, tuple, list, dict)."""
    if not _fits(value, expected):
        raise SuiteError(f"{where}: expected {_describe(expected)}, got {value!r}")


def _fits(value, expected):
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, option) for option in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin in (tuple, list) or expected in (tuple, list):
        args = [a for a in typing.get_args(expected) if a is not Ellipsis]
        return isinstance(value, (list, tuple)) and all(_fits(item, args[0]) for item in value) if args else isinstance(value, (list, tuple))
    if origin is dict or expected is dict:
        return isinstance(value, dict)
    return isinstance(value, expected)


def _describe(expected):
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(option) for option in typing.get_args(expected))
    if expected is type(None):
        return "null"
    if origin in (tuple, list) or expected in (tuple, list):
        args = [a for a in typing.get_args(expected) if a is not Ellipsis]
        return f"a list of {_describe(args[0])}s" if args else "a list"
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a mapping"}
    return names.get(expected, getattr(expected, "__name__", str(expected)))
