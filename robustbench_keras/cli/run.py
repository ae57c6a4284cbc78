"""`run SUITE`: train or load the suite's models, run its scorers, write the leaderboard and reports."""

import os

from robustbench_keras.suite import load_suite

DATA_DIR_VARIABLE = "ROBUSTBENCH_KERAS_DATA_DIR"


def register_subparser(subparsers):
    parser = subparsers.add_parser(
        "run",
        help="run a benchmark suite",
        description="Train or load the suite's models, run its scorers and write the leaderboard, "
        "tables and figures. An interrupted run, started again, continues where it stopped.",
    )
    parser.add_argument("suite", help="suite file, e.g. suites/mnist.yaml")
    parser.add_argument("--output", help="output folder (overrides the suite's `output`)")
    parser.add_argument(
        "--data-dir",
        help=f"local folder with the four IDX .gz files (default: ${DATA_DIR_VARIABLE}, "
        "else the suite's `data_dir`, else download through tensorflow-datasets)",
    )
    parser.add_argument("--cache-dir", help="folder of trained models (overrides the suite's `cache_dir`)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(handler=handle)


def handle(args):
    from robustbench_keras.runner import run_suite

    data_dir = args.data_dir or os.environ.get(DATA_DIR_VARIABLE) or None
    suite = load_suite(args.suite, output=args.output, data_dir=data_dir, cache_dir=args.cache_dir)
    outputs = run_suite(suite, progress=not args.quiet)
    for name, path in outputs.items():
        print(f"{name}: {path}")
