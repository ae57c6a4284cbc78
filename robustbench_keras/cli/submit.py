"""`submit MODEL --name NAME --suite SUITE`: add a Keras model to a suite's leaderboard."""

from robustbench_keras.cli.options import add_suite_overrides, load_suite_with_overrides

# The submission loader's default (`submission.loading.DEFAULT_MAX_SIZE_BYTES`, checked by a test): that
# module imports Keras, which `--help` must not.
DEFAULT_MAX_MODEL_SIZE_MB = 200


def register_subparser(subparsers):
    parser = subparsers.add_parser(
        "submit",
        help="submit a Keras model to a suite's leaderboard",
        description="Load a .keras model safely, validate it against the suite's data, evaluate it with "
        "the suite's scorers next to the zoo models and append its entry to the leaderboard. Run the suite "
        "first. Only .keras files are accepted; .h5 files and SavedModel folders are refused (re-save "
        "them with model.save('model.keras')).",
    )
    parser.add_argument("model", help="the .keras model file (its output: logits, or softmax probabilities)")
    parser.add_argument("--name", required=True, help="entry id: letters, digits, '.', '_' or '-'")
    parser.add_argument("--suite", required=True, help="suite file, e.g. suites/mnist.yaml")
    parser.add_argument("--author", action="append", default=[], dest="authors", help="an author (repeatable)")
    parser.add_argument("--link", help="paper or code link")
    parser.add_argument("--description", help="one-line description")
    parser.add_argument("--update", action="store_true", help="replace an entry with the same name or model file")
    parser.add_argument(
        "--trust-model-code", action="store_true",
        help="allow Lambda layers and custom classes; their code RUNS on this machine: only for files you trust",
    )
    parser.add_argument(
        "--max-model-size-mb", type=float, default=DEFAULT_MAX_MODEL_SIZE_MB,
        help="refuse larger model files (default %(default)g MB)",
    )
    add_suite_overrides(parser)
    parser.set_defaults(handler=handle)


def handle(args):
    from robustbench_keras.pipeline.submit import submit_model

    suite = load_suite_with_overrides(args.suite, args)
    entry = submit_model(
        args.model, suite, name=args.name, authors=args.authors, link=args.link, description=args.description,
        update=args.update, trust_model_code=args.trust_model_code,
        max_size_bytes=int(args.max_model_size_mb * 2**20), progress=not args.quiet,
    )
    print(f"submitted '{entry.id}': test error {100 * entry.clean_errors['test']:.2f}%")
    for split, summary in entry.sections.get("min_distortion", {}).items():
        print(f"mean minimal distortion ({split}, n={summary['n']}): {format_distortion(summary['mean'])}")


def format_distortion(value):
    """A distortion with 4 significant digits, e.g. "0.05453"; "none succeeded" for a missing mean (null)."""
    return "none succeeded" if value is None else f"{value:.4g}"
