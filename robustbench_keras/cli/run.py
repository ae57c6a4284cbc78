"""`run SUITE`: train or load the suite's models, run its scorers, write the leaderboard and reports."""

from robustbench_keras.cli.options import add_suite_overrides, load_suite_with_overrides


def register_subparser(subparsers):
    parser = subparsers.add_parser(
        "run",
        help="run a benchmark suite",
        description="Train or load the suite's models, run its scorers and write the leaderboard, "
        "tables and figures. An interrupted run, started again, continues where it stopped.",
    )
    parser.add_argument("suite", help="suite file, e.g. suites/mnist.yaml")
    add_suite_overrides(parser)
    parser.set_defaults(handler=handle)


def handle(args):
    from robustbench_keras.pipeline.run import run_suite

    suite = load_suite_with_overrides(args.suite, args)
    outputs, stage_times = run_suite(suite, progress=not args.quiet)
    for name, path in outputs.items():
        print(f"{name}: {path}")
    print("time: " + ", ".join(f"{name[:-2]} {seconds:.0f} s" for name, seconds in stage_times.items()))
