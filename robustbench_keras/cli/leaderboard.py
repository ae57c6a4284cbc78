"""`leaderboard show | verify | remove`: read, check and edit a suite's leaderboard."""

import sys
from pathlib import Path

from robustbench_keras.cli.options import add_suite_overrides, load_suite_with_overrides


def register_subparser(subparsers):
    parser = subparsers.add_parser("leaderboard", help="show, verify or edit a suite's leaderboard")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    show = actions.add_parser("show", help="print the ranked tables (Markdown)")
    verify = actions.add_parser("verify", help="re-evaluate entries and compare with what is stored")
    verify.add_argument("entry", nargs="?", help="entry id (default: every entry)")
    verify.add_argument("--distortions", type=int, default=0, metavar="N",
                        help="also re-attack the first N examples of each entry's records")
    remove = actions.add_parser("remove", help="remove an entry")
    remove.add_argument("entry", help="entry id")
    for action, handler in ((show, handle_show), (verify, handle_verify), (remove, handle_remove)):
        action.add_argument("--suite", required=True, help="suite file, e.g. suites/mnist.yaml")
        add_suite_overrides(action, progress=False)
        action.set_defaults(handler=handler)


def _suite(args):
    return load_suite_with_overrides(args.suite, args)


def handle_show(args):
    from robustbench_keras.leaderboard.markdown import render_markdown
    from robustbench_keras.leaderboard.store import load_leaderboard

    document = load_leaderboard(Path(_suite(args).output) / "leaderboard.json")
    print(render_markdown(document))


def handle_verify(args):
    from robustbench_keras.pipeline.verify import verify_entries

    checks = verify_entries(_suite(args), args.entry, num_distortion_examples=args.distortions)
    for check in checks:
        verdict = "ok" if check.ok else "MISMATCH"
        print(f"{check.entry_id}  {check.quantity}: stored {check.stored:.6g}, measured {check.measured:.6g} "
              f"(tolerance {check.tolerance:.2g}) {verdict}")
    failed = sum(not check.ok for check in checks)
    print(f"{len(checks) - failed} matched, {failed} mismatched", file=sys.stderr)
    return 1 if failed else 0


def handle_remove(args):
    from robustbench_keras.pipeline.remove import remove_entry

    remove_entry(_suite(args), args.entry)
    print(f"removed '{args.entry}'")
