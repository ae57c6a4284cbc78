#!/usr/bin/env python3
"""Compares two leaderboard.json files value by value, ignoring what changes from run to run.

    python scripts/compare_leaderboards.py BEFORE.json AFTER.json [--rel-tol 0] [--abs-tol 0]

Every difference is printed on its own line with its JSON path (`$.entries[id=fc10_wd1e-4].clean_errors.train`);
the exit status is 0 when the two documents agree, 1 when they differ, 2 when a file cannot be read.
Numbers are compared exactly unless a tolerance is given (NaN equals NaN; true and 1 differ).

Ignored everywhere, by key: timings (`timings`, `time_s`, any key ending in `_s`), timestamps
(`created_utc`, `submitted_utc`), software versions (`software`), paths (`path`, keys ending in
`_path` or `_dir`, and any pair of absolute-path strings), and two file hashes: `records.sha256` (attack
records keep per-example `time_s`, a wall-clock time) and `checkpoint_sha256` (zoo models are written as
canonical bytes, without Keras's `date_saved`, so one model has one sha256 wherever it was trained, but
another Keras version or platform may write the same weights as other bytes); `--compare-file-hashes`
compares those two as well.
`--ignore KEY` adds a key. Lists whose items all carry a distinct `id` (or `model`, `name`, `label`)
are matched by it, so a reordering is reported once rather than as a change of every item.

Standard library only: it runs with any Python 3.9+, inside or outside the project's venv.
"""

import argparse
import json
import math
import re
import sys

TIMING_KEYS = {"timings", "time_s"}
TIMESTAMP_KEYS = {"created_utc", "submitted_utc"}
VERSION_KEYS = {"software"}
PATH_KEYS = {"path"}
PATH_SUFFIXES = ("_path", "_dir")
FILE_HASH_KEYS = {"checkpoint_sha256"}
FILE_HASH_PARENTS = {"records": "sha256"}  # `records.sha256`
LIST_ITEM_KEYS = ("id", "model", "name", "label")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ABSOLUTE_PATH = re.compile(r"^(/|~/|[A-Za-z]:[\\/])\S*$")


class Comparison:
    """Walks two JSON documents side by side and collects one line per difference."""

    def __init__(self, ignore=(), rel_tol=0.0, abs_tol=0.0, compare_file_hashes=False):
        self.ignore = set(ignore)
        self.rel_tol = rel_tol
        self.abs_tol = abs_tol
        self.compare_file_hashes = compare_file_hashes
        self.differences = []

    def ignored(self, key, parent_key):
        """Whether the dict key `key` (inside the dict found under `parent_key`) is left out."""
        if key in self.ignore or key in TIMING_KEYS or key.endswith("_s"):
            return True
        if key in TIMESTAMP_KEYS or key in VERSION_KEYS:
            return True
        if key in PATH_KEYS or key.endswith(PATH_SUFFIXES):
            return True
        if not self.compare_file_hashes:
            return key in FILE_HASH_KEYS or FILE_HASH_PARENTS.get(parent_key) == key
        return False

    def compare(self, before, after, path="$", key=None):
        """Compares two JSON values found at `path` (under the dict key `key`)."""
        if isinstance(before, dict) and isinstance(after, dict):
            self._compare_dicts(before, after, path, key)
        elif isinstance(before, list) and isinstance(after, list):
            self._compare_lists(before, after, path, key)
        elif _is_number(before) and _is_number(after):
            if not self._numbers_equal(before, after):
                self.differences.append(f"{path}: {_show(before)} -> {_show(after)} ({_delta(before, after)})")
        elif _kind(before) != _kind(after):
            self.differences.append(f"{path}: {_kind(before)} {_show(before)} -> {_kind(after)} {_show(after)}")
        elif isinstance(before, str) and _ABSOLUTE_PATH.match(before) and _ABSOLUTE_PATH.match(after):
            return  # a file path: where the run wrote, not what it found
        elif before != after:
            self.differences.append(f"{path}: {_show(before)} -> {_show(after)}")

    def _compare_dicts(self, before, after, path, parent_key):
        for key in list(before) + [k for k in after if k not in before]:
            if self.ignored(key, parent_key):
                continue
            child = _child_path(path, key)
            if key not in after:
                self.differences.append(f"{child}: only in the first file ({_show(before[key])})")
            elif key not in before:
                self.differences.append(f"{child}: only in the second file ({_show(after[key])})")
            else:
                self.compare(before[key], after[key], child, key)

    def _compare_lists(self, before, after, path, key):
        item_key = _matching_key(before, after)
        if item_key is None:
            if len(before) != len(after):
                self.differences.append(f"{path}: {len(before)} items -> {len(after)} items")
            for index, (old, new) in enumerate(zip(before, after)):
                self.compare(old, new, f"{path}[{index}]", key)
            return
        old_items = {item[item_key]: item for item in before}
        new_items = {item[item_key]: item for item in after}
        common = [name for name in old_items if name in new_items]
        if common != [name for name in new_items if name in old_items]:
            order = [name for name in new_items if name in old_items]
            self.differences.append(f"{path}: order of {item_key}s {_show(common)} -> {_show(order)}")
        for name in old_items:
            child = f"{path}[{item_key}={name}]"
            if name not in new_items:
                self.differences.append(f"{child}: only in the first file")
            else:
                self.compare(old_items[name], new_items[name], child, key)
        for name in new_items:
            if name not in old_items:
                self.differences.append(f"{path}[{item_key}={name}]: only in the second file")

    def _numbers_equal(self, before, after):
        if isinstance(before, float) and isinstance(after, float) and math.isnan(before) and math.isnan(after):
            return True
        if before == after:
            return True
        return math.isclose(before, after, rel_tol=self.rel_tol, abs_tol=self.abs_tol)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def _show(value, limit=80):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _delta(before, after):
    difference = after - before
    if before and math.isfinite(difference):
        return f"difference {difference:+.3g}, relative {difference / abs(before):+.3g}"
    return f"difference {difference:+.3g}"


def _child_path(path, key):
    return f"{path}.{key}" if _IDENTIFIER.match(key) else f"{path}[{json.dumps(key)}]"


def _matching_key(before, after):
    """The first of `LIST_ITEM_KEYS` that every item of both lists carries, distinct and scalar."""
    items = before + after
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in LIST_ITEM_KEYS:
        for side in (before, after):
            values = [item.get(key) for item in side]
            if not all(isinstance(value, (str, int)) and not isinstance(value, bool) for value in values):
                break
            if len(set(values)) != len(values):
                break
        else:
            return key
    return None


def compare_documents(before, after, **options):
    """The list of difference lines between two parsed leaderboard documents (empty: they agree)."""
    comparison = Comparison(**options)
    comparison.compare(before, after)
    return comparison.differences


def _read(path):
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except OSError as error:
        raise SystemExit(_fail(f"{path}: cannot read ({error.strerror or error})"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SystemExit(_fail(f"{path}: not a JSON file ({error})"))


def _fail(message):
    print(f"compare_leaderboards: {message}", file=sys.stderr)
    return 2


def _non_negative(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="compare_leaderboards.py",
        description="Compare two leaderboard.json files, ignoring timings, timestamps, versions and paths.",
    )
    parser.add_argument("before", help="the first leaderboard.json (e.g. before a change)")
    parser.add_argument("after", help="the second leaderboard.json")
    parser.add_argument("--rel-tol", type=_non_negative, default=0.0, help="relative tolerance for numbers (0)")
    parser.add_argument("--abs-tol", type=_non_negative, default=0.0, help="absolute tolerance for numbers (0)")
    parser.add_argument("--ignore", action="append", default=[], metavar="KEY", help="also ignore this key")
    parser.add_argument(
        "--compare-file-hashes",
        action="store_true",
        help="also compare checkpoint_sha256 and records.sha256 (records embed wall-clock times)",
    )
    args = parser.parse_args(argv)
    differences = compare_documents(
        _read(args.before),
        _read(args.after),
        ignore=args.ignore,
        rel_tol=args.rel_tol,
        abs_tol=args.abs_tol,
        compare_file_hashes=args.compare_file_hashes,
    )
    for line in differences:
        print(line)
    if differences:
        print(f"{len(differences)} difference(s) between {args.before} and {args.after}", file=sys.stderr)
        return 1
    ignored = "timings, timestamps, versions and paths" if args.compare_file_hashes else (
        "timings, timestamps, versions, paths and file hashes"
    )
    print(f"{args.before} and {args.after} agree ({ignored} ignored)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
