"""Wall time per example of this attack and Foolbox DDN-100, back to back on the same machine state.

    python tests/benchmarks/speed_vs_ddn.py --models fc100_100_10 relu_mlp_256_256 mnist_convnet --batch-size 64

The peers' problem (`peers.make_problem`: 100 MNIST test images, seeded random targets); each method is
prepared (compiled) once, then timed `--runs` times in a row, DDN-100 right after this attack, with the
1-minute load average before and after each run: on a shared machine only times taken at the same load
compare. PEERS_ATTACK_SETTINGS overrides this attack's settings (JSON object), as for `peers.py`.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402


def load_average():
    """The 1-minute load average."""
    return os.getloadavg()[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(peers.MODELS), choices=peers.MODELS)
    parser.add_argument("--batch-size", type=int, default=64, help="this attack's batch_size")
    parser.add_argument("--runs", type=int, default=2, help="timed runs per method, after its compile")
    args = parser.parse_args(argv)
    mnist = peers.load_mnist()
    print("| model | method | run | ms / example | gradient evals / example | load before -> after |")
    print("| --- | --- | --: | --: | --: | --- |")
    for name in args.models:
        problem = peers.make_problem(name, mnist)
        calls = {f"this attack, batch {args.batch_size}": peers.prepare(
                     "project_b64", problem, peers.project_settings(args.batch_size)),
                 "DDN-100": peers.prepare("fb_ddn_100", problem)}
        for method, call in calls.items():
            for run in range(args.runs):
                before = load_average()
                _, seconds, grad_evals, _ = call()
                print(f"| {name} | {method} | {run} | {1e3 * seconds / len(problem.x):.1f} | {grad_evals:.0f} | "
                      f"{before:.2f} -> {load_average():.2f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
