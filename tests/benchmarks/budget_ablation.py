"""The attack's budget against its accuracy: named settings overrides on the peers' problems (issue 10).

    python tests/benchmarks/budget_ablation.py                     # every configuration in CONFIGS
    python tests/benchmarks/budget_ablation.py --configs before no_walk --models mnist_convnet
    python tests/benchmarks/budget_ablation.py --table             # the table from the stored results only

Each configuration (`AttackSettings` overrides at batch 64) attacks the stored peers' problems on both slices:
the benchmark's 100 examples (`peers_<model>.npz`) and the held-out 50 (test images 100-149, target seed 1,
`peers_<model>_test100-149_seed1.npz`). Per model and slice: mean ratio to the envelope (the stored peers' and
this run's, as `peers.py check`), share within 1%, worst, success, gradient evaluations per example (the
attack's own count: deterministic, the speed proxy) and wall ms per example with the load average beside it
(the held-out run, whose kernels the first run compiled, unless the rescue's are needed first there). The
per-example L2 distortions merge into `results/budget_ablation.json`; the ratios are computed from them and the
stored peers when the table is made.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

RESULTS = peers.RESULTS_DIR / "budget_ablation.json"
SLICES = {"stored 100": peers.ExampleSlice(), "held-out 50": peers.ExampleSlice(100, 50, 1)}
TARGETS = {"mean_ratio": 1.002, "within_1pct": 0.98, "worst_ratio": 1.03}

# The budget before this ablation (633 gradient evaluations per example); each configuration changes it.
BEFORE = {"num_c_steps": 4, "max_evaluations": 50, "num_projection_steps": 10, "projection_competitors": 3,
          "num_ddn_steps": 100, "num_restart_steps": 50, "num_restart_walk_steps": 50, "num_walk_steps": 100}
_CHANGES = {
    "before": {},
    # one stage off at a time
    "no_projection": {"num_projection_steps": 0},
    "no_ddn": {"num_ddn_steps": 0},
    "no_restarts": {"num_restart_steps": 0},
    "no_walk": {"num_walk_steps": 0},
    "c_steps_2": {"num_c_steps": 2},
    "c_evals_25": {"max_evaluations": 25},
    # budgets near DDN-100's speed on the conv net
    "b300": {"num_c_steps": 3, "max_evaluations": 30, "num_projection_steps": 5, "projection_competitors": 2,
             "num_ddn_steps": 50, "num_restart_steps": 30, "num_restart_walk_steps": 20, "num_walk_steps": 50},
    "b250": {"num_c_steps": 2, "max_evaluations": 30, "num_projection_steps": 0, "num_ddn_steps": 50,
             "num_restart_steps": 30, "num_restart_walk_steps": 20, "num_walk_steps": 40},
    # the free cuts together (c search 2 x 25, no projection), then one later stage halved at a time
    "lean": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0},
    "lean_ddn_50": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0, "num_ddn_steps": 50},
    "lean_restarts_25": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0,
                         "num_restart_steps": 25, "num_restart_walk_steps": 25},
    "lean_walk_50": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0, "num_walk_steps": 50},
    # candidates: the free cuts and DDN 50, the c search's 4 steps (and the rescue's 8) kept; then shorter
    "c4x25_ddn_50": {"max_evaluations": 25, "num_projection_steps": 0, "num_ddn_steps": 50},
    "lean_ddn_25": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0, "num_ddn_steps": 25},
    "lean_ddn_50_restarts_40": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0,
                                "num_ddn_steps": 50, "num_restart_steps": 40},
    "lean_ddn_50_walk_80": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0, "num_ddn_steps": 50,
                            "num_walk_steps": 80},
    "lean_ddn_50_restart_walk_40": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0,  # default
                                    "num_ddn_steps": 50, "num_restart_walk_steps": 40},
    "lean_ddn_50_restart_walk_30": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0,
                                    "num_ddn_steps": 50, "num_restart_walk_steps": 30},
    "lean_ddn_50_c1": {"num_c_steps": 1, "max_evaluations": 25, "num_projection_steps": 0, "num_ddn_steps": 50},
    "p350": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0, "num_ddn_steps": 50,
             "num_restart_walk_steps": 25},
    "p270": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0, "num_ddn_steps": 25,
             "num_restart_steps": 40, "num_restart_walk_steps": 20, "num_walk_steps": 75},
    "p250": {"num_c_steps": 2, "max_evaluations": 25, "num_projection_steps": 0, "num_ddn_steps": 25,
             "num_restart_steps": 40, "num_restart_walk_steps": 20, "num_walk_steps": 55},
}
CONFIGS = {name: {**BEFORE, **changes} for name, changes in _CHANGES.items()}  # explicit, whatever the defaults


def run_config(problem, overrides):
    """This project's attack (batch 64, `overrides`) on the problem: per-example L2 (NaN: no success, checked on a
    fresh forward pass), gradient evaluations per example, ms per example and the load average."""
    attack = peers.LBFGSAttack(peers.project_settings(64, overrides))
    load = os.getloadavg()[0]
    started = time.perf_counter()
    records = attack.run(problem.model, problem.x, problem.targets, problem.y)
    seconds = time.perf_counter() - started
    result = peers.measure(problem, records.x_adv, seconds, float(np.mean(records.num_grad_evals)))
    return {"l2": [float(v) for v in result["l2"]], "grad_evals": result["summary"]["grad_evals_per_example"],
            "ms": result["summary"]["ms_per_example"], "load": max(load, os.getloadavg()[0])}


def against_envelope(model, examples, run):
    """The run's mean ratio, within 1%, worst and success over the envelope of the stored peers and the run."""
    l2, _ = peers.load_envelope(peers.store_name(model, examples=examples))
    if not l2:
        raise FileNotFoundError(f"{model}: no stored peers on {examples.images}")
    mine = np.asarray(run["l2"], np.float64)
    row = peers.ratios(mine, peers.envelope_of([*l2.values(), mine]))
    return dict(run, l2=None, success=float(np.mean(np.isfinite(mine))),
                **{k: v for k, v in row.items() if k != "ratio"})


def meets(row):
    """Whether a row meets the issue's accuracy targets (every example successful)."""
    return (row["mean_ratio"] <= TARGETS["mean_ratio"] and row["within_1pct"] >= TARGETS["within_1pct"]
            and row["worst_ratio"] <= TARGETS["worst_ratio"] and row["success"] == 1.0)


def _cell(row):
    text = f"{row['mean_ratio']:.4f} / {100 * row['within_1pct']:.0f}% / {row['worst_ratio']:.3f}"
    return text if row["success"] == 1.0 else f"{text} ({100 * row['success']:.0f}% success)"


def table(stored):
    """Markdown: per configuration and model, both slices' mean / within 1% / worst, evaluations, ms (load)."""
    lines = ["| configuration | model | gradient evals / example | stored 100: mean / within 1% / worst | "
             "held-out 50 | targets met on | ms / example (load) |", "| --- | --- | --: | --- | --- | --- | --: |"]
    for name in [n for n in CONFIGS if n in stored] + [n for n in stored if n not in CONFIGS]:
        for model, runs in stored[name]["models"].items():
            rows = {slice_name: against_envelope(model, SLICES[slice_name], run) for slice_name, run in runs.items()}
            cells = [_cell(rows[s]) if s in rows else "–" for s in SLICES]
            timed = runs.get("held-out 50") or next(iter(runs.values()))
            evals = (runs.get("stored 100") or timed)["grad_evals"]
            lines.append(f"| {name} | {model} | {evals:.0f} | {' | '.join(cells)} | "
                         f"{', '.join(s for s, row in rows.items() if meets(row)) or 'neither'} | "
                         f"{timed['ms']:.1f} ({timed['load']:.1f}) |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), help="names in CONFIGS")
    parser.add_argument("--set", nargs=2, action="append", default=[], metavar=("NAME", "JSON"),
                        help="another configuration: a name and its overrides as a JSON object")
    parser.add_argument("--models", nargs="+", default=list(peers.MODELS), choices=peers.MODELS)
    parser.add_argument("--table", action="store_true", help="print the stored results' table only")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(RESULTS.read_text()) if RESULTS.exists() else {}), end="")
        return
    configs = {}
    for name in args.configs:
        if name not in CONFIGS:
            parser.error(f"--configs: unknown configuration {name!r} (known: {', '.join(CONFIGS)})")
        configs[name] = CONFIGS[name]
    for name, text in args.set:
        try:
            configs[name] = json.loads(text)
            peers.project_settings(64, configs[name])
        except Exception as error:  # invalid JSON or a setting AttackSettings refuses
            parser.error(f"--set {name}: {error}")
    mnist = peers.load_mnist()
    problems = {(m, s): peers.make_problem(m, mnist, examples=e) for m in args.models for s, e in SLICES.items()}
    for model in args.models:  # one model object per model, so that its compiled kernels serve both slices
        for slice_name in SLICES:
            problems[model, slice_name].model = problems[model, next(iter(SLICES))].model
    mine = {}  # this run's results, merged into the file as it is when written (another run may share it)
    for model in args.models:
        for name, overrides in configs.items():
            runs = {s: run_config(problems[model, s], overrides) for s in SLICES}
            mine.setdefault(name, {"overrides": overrides, "models": {}})["models"][model] = runs
            stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
            for config, entry in mine.items():
                merged = stored.setdefault(config, {"models": {}})
                merged["overrides"] = entry["overrides"]
                merged["models"].update(entry["models"])
            temporary = RESULTS.with_name(f".{RESULTS.name}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
            os.replace(temporary, RESULTS)
            print(table({name: {"models": {model: runs}}}).splitlines()[-1], flush=True)
    print(table(mine), end="")


if __name__ == "__main__":
    sys.exit(main())
