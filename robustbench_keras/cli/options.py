"""Options several commands share: where the suite's data, models and outputs are."""

import os

from robustbench_keras.suite import load_suite

DATA_DIR_VARIABLE = "ROBUSTBENCH_KERAS_DATA_DIR"


def add_suite_overrides(parser, progress=True):
    """Adds --output, --data-dir, --cache-dir (and --quiet) that override the suite file."""
    parser.add_argument("--output", help="output folder (overrides the suite's `output`)")
    parser.add_argument(
        "--data-dir",
        help=f"local folder with the four IDX .gz files (default: ${DATA_DIR_VARIABLE}, "
        "else the suite's `data_dir`, else download through tensorflow-datasets)",
    )
    parser.add_argument("--cache-dir", help="folder of trained models (overrides the suite's `cache_dir`)")
    if progress:
        parser.add_argument("--quiet", action="store_true", help="no progress lines")


def load_suite_with_overrides(path, args):
    """The suite at `path` with the command line's overrides; the data folder variable is read here."""
    data_dir = args.data_dir or os.environ.get(DATA_DIR_VARIABLE) or None
    return load_suite(path, output=args.output, data_dir=data_dir, cache_dir=args.cache_dir)
