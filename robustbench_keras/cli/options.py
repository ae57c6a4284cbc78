"""Options several commands share: where the suite's data, models and outputs are.

The environment variables naming the data and model folders are read here, at the command line's edge;
the library takes explicit folders.
"""

import dataclasses
import os

from robustbench_keras.executors import EXECUTOR_NAMES

DATA_DIR_VARIABLE = "ROBUSTBENCH_KERAS_DATA_DIR"
CACHE_DIR_VARIABLE = "ROBUSTBENCH_KERAS_CACHE_DIR"


def add_suite_overrides(parser, progress=True):
    """Adds --output, --data-dir, --cache-dir (and --quiet) that override the suite file."""
    parser.add_argument("--output", help="output folder (overrides the suite's `output`)")
    parser.add_argument(
        "--data-dir",
        help=f"local folder with the four IDX .gz files (default: ${DATA_DIR_VARIABLE}, "
        "else the suite's `data_dir`, else download through tensorflow-datasets)",
    )
    parser.add_argument(
        "--cache-dir",
        help=f"folder of trained models (default: the suite's `cache_dir`, else ${CACHE_DIR_VARIABLE}, "
        "else ~/.cache/robustbench_keras/models)",
    )
    parser.add_argument("--executor", choices=EXECUTOR_NAMES,
                        help="where the units of work run (overrides the suite's `executor`; ray: pip install -e \".[ray]\")")
    parser.add_argument("--ray-address", help="existing Ray cluster for --executor ray (default: $RAY_ADDRESS, "
                        "else a local Ray started for the run)")
    if progress:
        parser.add_argument("--quiet", action="store_true", help="no progress lines")


def load_suite_with_overrides(path, args):
    """The suite at `path` with the command line's overrides; the folder variables are read here."""
    from robustbench_keras.suite import load_suite  # imported on use: `--help` stays free of TensorFlow

    data_dir = args.data_dir or os.environ.get(DATA_DIR_VARIABLE) or None
    suite = load_suite(path, output=args.output, data_dir=data_dir, cache_dir=args.cache_dir,
                       executor=args.executor, ray_address=args.ray_address)
    if suite.cache_dir is None and os.environ.get(CACHE_DIR_VARIABLE):
        suite = dataclasses.replace(suite, cache_dir=os.environ[CACHE_DIR_VARIABLE])
    return suite
