"""`python -m robustbench_keras`: parse the command line, call the library, print one line per user mistake.

Parsing and `--help` load no TensorFlow. A command loads it, silenced, before its handler runs, unless
it sets `uses_tensorflow=False` (`models`), so no library module ever imports TensorFlow unsilenced.
"""

import argparse
import sys

from robustbench_keras import __version__
from robustbench_keras.cli import leaderboard as leaderboard_command
from robustbench_keras.cli import models as models_command
from robustbench_keras.cli import run as run_command
from robustbench_keras.cli import submit as submit_command
from robustbench_keras.errors import UserError
from robustbench_keras.quiet import import_tensorflow

COMMANDS = (run_command, models_command, submit_command, leaderboard_command)


def build_parser():
    """The argument parser with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="python -m robustbench_keras",
        description="Adversarial-robustness benchmark suites for Keras models, "
        "reproducing Szegedy et al. 2014 (arXiv 1312.6199).",
    )
    parser.add_argument("--version", action="version", version=f"robustbench_keras {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register_subparser(subparsers)
    return parser


def main(argv=None):
    """Runs one command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "uses_tensorflow", True):
            import_tensorflow()
        return args.handler(args) or 0
    except UserError as error:
        print(f"robustbench_keras: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("robustbench_keras: interrupted; run the same command again to continue", file=sys.stderr)
        return 130
