"""`models`: list the model zoo, from its specs alone (no TensorFlow)."""

from robustbench_keras import zoo


def register_subparser(subparsers):
    parser = subparsers.add_parser("models", help="list the model zoo", description="List the model zoo.")
    parser.set_defaults(handler=handle, uses_tensorflow=False)


def _percent(value):
    return "—" if value is None else f"{100 * value:.2f}%"


def handle(args):
    rows = [("id", "paper name", "architecture", "trained on", "paper train / test error")]
    for model_id in zoo.names():
        spec = zoo.get(model_id)
        errors = f"{_percent(spec.paper_train_error)} / {_percent(spec.paper_test_error)}"
        rows.append((spec.id, spec.paper_name or "—", spec.architecture, spec.train_split, errors))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
