"""Stored per-example results of the attack and its peers, their envelope, and the report.

`results/peers_<model>.npz` holds, per method, the per-example L2 and RMS distortions (NaN: no
success), success and ms, with a JSON `meta` (schema version, the problem's key: sha256 of the
model's weights and checkpoint, of the examples and of the targets; per method its summary and the
code it ran). The envelope of an example is the smallest successful L2 distortion over a set of
methods; a method's ratio to it is summarised as its mean (over the examples it succeeded on), the
share within 1%, the worst, and the share of examples without success. `write_report` renders
`results/peers.md` and `results/peers.json` from the files. No TensorFlow here: reading the stored
results is cheap.
"""

import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import subprocess

import numpy as np

SCHEMA_VERSION = 1
RESULTS_DIR = pathlib.Path(__file__).resolve().parent / "results"
MODELS = ("fc100_100_10", "relu_mlp_256_256", "mnist_convnet")
MODEL_LABELS = {"fc100_100_10": "sigmoid MLP (zoo fc100_100_10)", "relu_mlp_256_256": "ReLU MLP 784-256-256-10",
                "mnist_convnet": "conv net (zoo mnist_convnet)"}
PROJECT_METHODS = ("project_b64", "project_b256")
PEER_METHODS = ("scipy_lbfgsb", "fb_cw_l2", "fb_ddn_1000", "fb_ddn_100", "fb_fmn_l2")
METHODS = PROJECT_METHODS + PEER_METHODS
METHOD_LABELS = {
    "project_b64": "this project, batch 64", "project_b256": "this project, batch 256",
    "scipy_lbfgsb": "SciPy L-BFGS-B per example", "fb_cw_l2": "Foolbox 3 C&W L2 (9 x 1,000 steps)",
    "fb_ddn_1000": "Foolbox 3 DDN (1,000 steps)", "fb_ddn_100": "Foolbox 3 DDN (100 steps)",
    "fb_fmn_l2": "Foolbox 3 FMN L2 (100 steps)",
}


def _provenance():
    """The code this process runs: git HEAD, whether the attack's files differed from it, their sha256."""
    root = pathlib.Path(__file__).resolve().parents[2]
    sources = sorted((root / "robustbench_keras" / "attacks").glob("*.py"))
    digest = hashlib.sha256(b"".join(path.name.encode() + path.read_bytes() for path in sources)).hexdigest()
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "robustbench_keras/attacks"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    return {"git_commit": commit, "attacks_dirty": bool(dirty), "attacks_sha256": digest}


PROVENANCE = _provenance()  # at import, when the attack's modules are loaded (others may commit meanwhile)


TARGET_POLICIES = ("random", "closest")


@dataclasses.dataclass(frozen=True)
class ExampleSlice:
    """Which MNIST test images a problem attacks (`num_examples` from index `first`) and the seed of their
    random targets; the default is the benchmark's own: the first 100, seed 0."""

    first: int = 0
    num_examples: int = 100
    target_seed: int = 0

    @property
    def suffix(self):
        """What its stored names add: "" for the default slice, else `_test<first>-<last>_seed<seed>`."""
        if self == ExampleSlice():
            return ""
        return f"_test{self.first}-{self.first + self.num_examples - 1}_seed{self.target_seed}"

    @property
    def images(self):
        """The slice's images in words, for reports."""
        return f"MNIST test images {self.first}-{self.first + self.num_examples - 1}"

    def describe(self):
        """The slice and its random targets in words, for reports."""
        return (f"{self.images}, random wrong targets `(y + rng.integers(1, 10)) % 10` with "
                f"`np.random.default_rng({self.target_seed})`")


def store_name(model_name, policy="random", examples=ExampleSlice()):
    """The name a model's results are filed under: the model's, with the slice's suffix for another slice of
    test images or target seed (`ExampleSlice.suffix`) and `_closest` for untargeted runs."""
    name = model_name + examples.suffix
    return name if policy == "random" else f"{name}_{policy}"


def results_path(model_name, results_dir=RESULTS_DIR):
    """Where a model's stored per-example results are: `<results_dir>/peers_<store name>.npz`."""
    return pathlib.Path(results_dir) / f"peers_{model_name}.npz"


def load_results(model_name, results_dir=RESULTS_DIR, key=None):
    """The stored file of a model: (key, {method: {"l2", "rms", "success", "ms", "summary"}}); ({}, {}) if none.

    Raises:
        ValueError: `key` is given and differs from the stored one (other weights, examples or targets).
    """
    path = results_path(model_name, results_dir)
    if not path.exists():
        return {}, {}
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        methods = {m: {field: data[f"{m}__{field}"] for field in ("l2", "rms", "success", "ms")}
                   for m in meta["methods"]}
    for method, result in methods.items():
        result["summary"] = meta["methods"][method]
    if key is not None:
        stored = {k: meta["key"].get(k) for k in ("weights_sha256", "examples_sha256", "targets_sha256")}
        if stored != {k: key[k] for k in stored}:
            raise ValueError(f"{path}: stored for {stored}, not for this problem "
                             f"{ {k: key[k] for k in stored} }; re-run bench_peers.py to store new peer results")
    return meta["key"], methods


def save_result(problem, method, result, results_dir=RESULTS_DIR):
    """Adds (or replaces) one method's per-example results in the model's file; a new key starts a new file."""
    try:
        _, methods = load_results(problem.store, results_dir, key=problem.key)
    except ValueError:
        methods = {}
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    methods[method] = dict(result, summary=dict(result["summary"], **PROVENANCE, created_utc=created))
    arrays = {f"{m}__{field}": np.asarray(r[field]) for m, r in methods.items() for field in ("l2", "rms", "success", "ms")}
    meta = {"schema_version": SCHEMA_VERSION, "key": problem.key, "methods": {m: r["summary"] for m, r in methods.items()}}
    arrays.update(meta=np.array(json.dumps(meta, sort_keys=True)), index=np.arange(len(problem.x)),
                  label=problem.y, target=problem.targets)
    path = results_path(problem.store, results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(temporary, **arrays)
    os.replace(temporary, path)
    return path


def load_envelope(model_name, results_dir=RESULTS_DIR, methods=PEER_METHODS, key=None):
    """The stored peers' per-example L2 distortions (NaN: no success) and their envelope.

    Args:
        model_name: one of `MODELS`.
        results_dir: where `peers_<model>.npz` is.
        methods: which stored methods make the envelope (default: the peers, Foolbox and SciPy; `METHODS`
            adds the project's attack as stored by the full run).
        key: a `Problem.key` to check the file against (ValueError if it differs).

    Returns:
        (l2_per_method {method: float64 (n,)}, envelope float64 (n,)): the envelope is the smallest successful
        distortion per example over those methods, NaN where none succeeded.
    """
    _, stored = load_results(model_name, results_dir, key=key)
    if not stored:
        raise FileNotFoundError(f"{results_path(model_name, results_dir)}: no stored peers; "
                                "run bench_peers.py or peers.py run first")
    l2 = {m: np.asarray(stored[m]["l2"], np.float64) for m in methods if m in stored}
    return l2, envelope_of(l2.values())


def envelope_of(l2_arrays):
    """The smallest finite value per example over the arrays, NaN where none is finite."""
    stacked = np.stack([np.where(np.isfinite(a), a, np.inf) for a in l2_arrays])
    best = stacked.min(axis=0)
    return np.where(np.isfinite(best), best, np.nan)


def ratios(l2, envelope):
    """Summary of one method's ratio to the envelope: mean (over its successes), within 1%, worst, no success.

    Examples whose envelope is 0 (untargeted: the model already misclassifies them) are left out of the ratios.
    """
    l2, envelope = np.asarray(l2, np.float64), np.asarray(envelope, np.float64)
    ratio = l2 / np.where(envelope > 0, envelope, np.nan)
    defined = np.isfinite(envelope) & (envelope > 0)
    ok = np.isfinite(l2) & defined
    ratio = np.where(ok, ratio, np.nan)
    return {"mean_ratio": float(np.nanmean(ratio)) if ok.any() else float("nan"),
            "within_1pct": float(np.mean(ok[defined] & (ratio[defined] <= 1.01))) if defined.any() else float("nan"),
            "worst_ratio": float(np.nanmax(ratio)) if ok.any() else float("nan"),
            "no_success": float(np.mean(~np.isfinite(l2))), "ratio": ratio}


def table_rows(results_by_model, methods=METHODS):
    """Rows (dicts) of every (model, method) present, with the ratios to the envelope over all present methods."""
    rows = []
    for model_name, methods_results in results_by_model.items():
        present = [m for m in methods if m in methods_results]
        if not present:
            continue
        envelope = envelope_of([methods_results[m]["l2"] for m in present])
        for method in present:
            result = methods_results[method]
            summary = {k: v for k, v in ratios(result["l2"], envelope).items() if k != "ratio"}
            rows.append(dict(model=model_name, method=method, **summary,
                             **{k: result["summary"].get(k) for k in ("success_rate", "mean_l2", "median_l2", "mean_rms",
                                                                      "median_rms", "ms_per_example",
                                                                      "grad_evals_per_example")}))
    return rows


def _number(value, digits):
    if value is None or np.isnan(value):
        return "–"
    return "∞" if np.isinf(value) else f"{value:,.{digits}f}"


def markdown_table(rows):
    """The rows as a markdown table: method, model, mean ratio, within 1%, worst, success, ms/example, ..."""
    lines = ["| method | model | mean ratio to envelope | within 1% | worst | success | ms / example "
             "| mean L2 | median L2 | median RMS | gradient evals / example |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        lines.append(
            f"| {METHOD_LABELS.get(row['method'], row['method'])} | {MODEL_LABELS.get(row['model'], row['model'])} "
            f"| {_number(row['mean_ratio'], 4)} | {100 * row['within_1pct']:.0f}% | {_number(row['worst_ratio'], 3)} "
            f"| {100 * row['success_rate']:.0f}% | {_number(row['ms_per_example'], 1)} | {_number(row['mean_l2'], 4)} "
            f"| {_number(row['median_l2'], 4)} | {_number(row['median_rms'], 5)} "
            f"| {_number(row['grad_evals_per_example'], 0)} |")
    return "\n".join(lines) + "\n"


def outliers(methods_results, method="project_b256", threshold=1.01, methods=METHODS):
    """Examples where `method` is above `threshold` x the envelope (or failed): [(index, ratio, best method, best L2)]."""
    present = [m for m in methods if m in methods_results]
    l2 = {m: np.asarray(methods_results[m]["l2"], np.float64) for m in present}
    envelope = envelope_of(l2.values())
    ratio = ratios(l2[method], envelope)["ratio"]
    result = []
    for i in np.flatnonzero(~(ratio <= threshold) & (envelope > 0)):
        best = [m for m in present if m != method and np.isfinite(l2[m][i]) and l2[m][i] == envelope[i]]
        best = best or [m for m in present if np.isfinite(l2[m][i]) and l2[m][i] == envelope[i]]
        result.append((int(i), float(ratio[i]), best[0], float(envelope[i])))
    return result


def write_report(results_dir=RESULTS_DIR, models=MODELS, policy="random", examples=ExampleSlice()):
    """Writes results/peers.md (table and outliers) and results/peers.json (every number) from the stored files;
    for untargeted runs (policy "closest") peers_closest.md and peers_closest.json; for another slice of
    examples the names carry its suffix (`store_name`)."""
    results = {}
    keys = {}
    for name in models:
        key, stored = load_results(store_name(name, policy, examples), results_dir)
        if stored:
            results[name], keys[name] = stored, key
    rows = table_rows(results)
    targets = (examples.describe() if policy == "random" else
               f"{examples.images}, untargeted (`target_policy: closest`: this project runs its c search on all 9 wrong "
               "labels, the whole attack on the 3 whose c search came closest (`num_shortlisted_targets`), and keeps the "
               "closest; "
               "the peers use Foolbox's `Misclassification` criterion)")
    success = ("classifies it as the target" if policy == "random" else "classifies it as any label but the true one; "
               "examples the model already misclassifies (envelope 0) are left out of the ratios")
    lines = [f"# This project's attack and its peers, per example against the envelope{'' if policy == 'random' else ' (untargeted)'}", "",
             "Written by `tests/benchmarks/bench_peers.py` or `peers.py run` (see `tests/benchmarks/peers.py`): "
             f"{targets}; envelope = per example "
             "the smallest successful L2 distortion of all methods below. An adversarial counts only if it is in "
             f"[0, 1] and a fresh forward pass {success}. Mean ratio and worst are over the examples "
             "a method succeeded on; \"within 1%\" counts a failure as not within. ms / example: one wall-clock run / "
             "the examples on a shared 2-core machine (Foolbox: all of them in one batch, eager). Gradient evaluations: "
             "per batch (each covers every example of the batch) for the batched methods; per example for SciPy.", "",
             "FMN: Foolbox 3.3.4's `L2FMNAttack.project` computes `factor = ep.minimum(1, norms / norms)` (always 1, "
             "and `norms` of x rather than of x - x0), so the adaptive L2 ball never constrains the iterate: the "
             "attack keeps its first, overshooting crossing (on 8 sigmoid-MLP examples 1,000 steps gave the same distortions as 100 to 3 decimals).", "",
             markdown_table(rows)]
    if policy != "random":
        del lines[4:6]  # the FMN note: FMN is not run untargeted
    for name, stored in results.items():
        if "project_b256" not in stored:
            continue
        found = outliers(stored)
        lines += ["", f"## {MODEL_LABELS[name]}: examples where this project (batch 256) is > 1% above the envelope", ""]
        if not found:
            lines.append("None.")
        else:
            lines += ["| example | ratio | best method | best L2 |", "| ---: | ---: | --- | ---: |"]
            lines += [f"| {i} | {_number(r, 4)} | {METHOD_LABELS[m]} | {b:.4f} |" for i, r, m, b in found]
        summary = stored["project_b256"]["summary"]
        lines += ["", f"Model key: weights sha256 `{keys[name]['weights_sha256'][:16]}…`, checkpoint "
                  f"`{pathlib.Path(keys[name]['checkpoint']).name}` (sha256 `{keys[name]['checkpoint_sha256'][:16]}…`); "
                  f"project run at commit `{summary.get('git_commit', '')[:10]}`"
                  f"{' (attack files modified)' if summary.get('attacks_dirty') else ''}."]
    results_dir = pathlib.Path(results_dir)
    stem = store_name("peers", policy, examples)
    (results_dir / f"{stem}.md").write_text("\n".join(lines) + "\n")
    (results_dir / f"{stem}.json").write_text(json.dumps(
        {"keys": keys, "rows": rows, "methods": {n: {m: r["summary"] for m, r in s.items()} for n, s in results.items()}},
        indent=1, sort_keys=True, default=float) + "\n")
    return rows
