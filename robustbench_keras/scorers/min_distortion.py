"""Paper Tables 1 and 3: average minimal distortion of each model, with clean errors beside it.

Distortion is the per-pixel RMS sqrt(Σ(x'−x)²/m) of the smallest perturbation the L-BFGS attack finds
that makes the model predict the target, pixels in [0, 1]. Table 1 (Szegedy et al. 2014) measures it
over a sample of the training set, Table 3 over a sample of the test set; the split per table, the
sample size and the target policy are suite settings, and every result records them.

The sample is attacked in chunks, each written to disk as soon as it is done, so an interrupted run
resumes at the first missing chunk; targets are drawn for the whole sample first, so the results do
not depend on the chunking.
"""

import dataclasses
from pathlib import Path

import numpy as np

from robustbench_keras.attacks import qp_oracle
from robustbench_keras.attacks import TARGET_POLICIES, AttackRecords, LBFGSAttack, summarize_distortions
from robustbench_keras.data.splits import SPLIT_NAMES
from robustbench_keras.errors import LeaderboardError, ModelError
from robustbench_keras.executors import InProcessExecutor
from robustbench_keras.paper import load_baselines
from robustbench_keras.scorers.attack_jobs import attack_chunks, finish, plan
from robustbench_keras.scorers.cells import (Comparison, Table, baselines_for, display_names, lookup, paper_rows,
                                                 row_ids)
from robustbench_keras.provenance import file_sha256

NAME = "min_distortion"
NUM_EXAMPLES_SHOWN = 8  # adversarial examples drawn per model


@dataclasses.dataclass(frozen=True)
class Settings:
    """Settings of the `min_distortion` scorer.

    Attributes:
        num_examples: examples attacked per model (the same sample for every model of a table).
        target_policy: "random" (seeded wrong label), "next", "least_likely" or "closest"
            (minimum over all wrong labels, the untargeted minimal distortion).
        table1_split: split Table 1 (and Table 2) models are attacked on; the paper: a training sample.
        table3_split: split Table 3 (and Table 4) models are attacked on; the paper: the test set.
        chunk_size: examples per resumable chunk.
        side_by_side_models: suite model ids whose adversarials of the same images are drawn side by side
            (e.g. a plain and a randomly masked conv net, Luo et al. 2019); empty: no such figure.
    """

    num_examples: int = 1000
    target_policy: str = "random"
    table1_split: str = "train"
    table3_split: str = "test"
    chunk_size: int = 250
    side_by_side_models: tuple[str, ...] = ()

    def __post_init__(self):
        if len(self.side_by_side_models) == 1 or len(set(self.side_by_side_models)) < len(self.side_by_side_models):
            raise ValueError(f"side_by_side_models: expected two or more different model ids, "
                             f"got {list(self.side_by_side_models)}")
        if self.num_examples < 1:
            raise ValueError(f"num_examples: expected a positive integer, got {self.num_examples}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size: expected a positive integer, got {self.chunk_size}")
        policies = [p for p in TARGET_POLICIES if p != "given"]
        if self.target_policy not in policies:
            raise ValueError(f"target_policy: expected one of {', '.join(policies)}, got '{self.target_policy}'")
        for name in ("table1_split", "table3_split"):
            if getattr(self, name) not in SPLIT_NAMES:
                raise ValueError(f"{name}: expected one of {', '.join(SPLIT_NAMES)}, got '{getattr(self, name)}'")

    def split_for(self, table):
        """The split a model of paper table `table` ("table1" or "table3", see `paper_table`) is attacked on."""
        return self.table3_split if table == "table3" else self.table1_split


def paper_table(train_split):
    """The paper table listing a model's distortion: "table3" for models trained on P1 or P2, else "table1".

    The one grouping rule of the suite: the transfer scorer's Tables 2 and 4 follow it.
    """
    return "table3" if train_split in ("p1", "p2") else "table1"


def run(settings, context):
    """Attacks each model on its table's seeded sample; writes `sections["min_distortion"]` per entry.

    Every model of a table is attacked on the same sample (so transfer rows and columns line up);
    models not scored in full (beside a submission) take their records from the records folder.
    """
    attack = LBFGSAttack(context.suite.attack)
    seed = context.suite.seed
    jobs = {}
    for model_id, model in context.models.items():
        entry = context.entries[model_id]
        split = settings.split_for(paper_table(entry.train_split))
        if split not in context.samples:
            x, y = context.dataset.split(split)
            indices = sample_indices(len(x), settings.num_examples, seed)
            context.samples[split] = (x[indices], y[indices])
        x, y = context.samples[split]
        jobs[model_id] = split, plan(
            attack, model, x, y, target_policy=settings.target_policy, seed=seed, output=context.output,
            name=f"{model_id}-{split}", chunk_size=settings.chunk_size,
            fingerprint=f"{entry.checkpoint_sha256}:{context.dataset.fingerprint['id']}",
        )
    # Every model's missing chunks in one stage, so that workers attack several models at once.
    attack_chunks([job for _, job in jobs.values()], context.executor)
    for model_id, (split, job) in jobs.items():
        context.records[model_id], summary = finish(job, summarize)
        context.entries[model_id].sections[NAME] = {split: summary}
        context.entries[model_id].timings["min_distortion_s"] = job.time_s


def sample_indices(num_available, num_examples, seed):
    """A seeded sample of example indices, sorted, the same for every model of a split."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num_available, size=min(num_examples, num_available), replace=False))


def score(attack, model, x, y, *, target_policy, seed, output, name, progress=True, chunk_size=250, fingerprint="",
          executor=None):
    """Attacks every example of `x` and summarises the distortions.

    Args:
        attack: a configured `LBFGSAttack`.
        model: Keras model returning logits.
        x: float32 (N, 28, 28) in [0, 1], the sample to attack; y: int (N,) true labels.
        target_policy: see `Settings.target_policy`.
        seed: seed of the target draw and the attack.
        output: the leaderboard's folder; records (and the resumable chunks) go under `records/`.
        name: file-name-safe name of this job, e.g. "fc10_wd1e-4-train".
        progress: show a progress line.
        chunk_size: examples per resumable chunk.
        fingerprint: text identifying everything else the records depend on (checkpoint hash, sample).
        executor: where the chunks are attacked (`robustbench_keras.executors`); None: in this process.

    Returns:
        `(records, summary)`: the merged `AttackRecords` and the leaderboard summary, which carries
        the target policy and the records' path (relative to `output`) and sha256.
    """
    job = plan(attack, model, x, y, target_policy=target_policy, seed=seed, output=output, name=name,
               chunk_size=chunk_size, fingerprint=fingerprint)
    attack_chunks([job], executor or InProcessExecutor(progress))
    return finish(job, summarize)


def summarize(records, x, model, target_policy):
    """The leaderboard summary of a model's records (without their file): distortion statistics, the
    target policy and, for an affine model, the ratio to the exact optimum."""
    summary = dict(summarize_distortions(records), target_policy=target_policy)
    exact = compare_with_exact_optimum(records, x, model)
    if exact is not None:
        summary["exact_optimum_ratio"] = exact
    return summary


def load_records(summary, folder):
    """The records a summary names, resolved against the leaderboard's `folder` and checked by sha256.

    Raises:
        LeaderboardError: the file is missing or its sha256 differs from the one stored.
    """
    path = Path(folder) / summary["records"]["path"]
    if not path.is_file():
        raise LeaderboardError(f"{path}: attack records named by the leaderboard are missing")
    if file_sha256(path) != summary["records"]["sha256"]:
        raise LeaderboardError(f"{path}: attack records do not have the sha256 the leaderboard stores")
    return AttackRecords.load(path)


def compare_with_exact_optimum(records, x, model):
    """For an affine model (FC10), the attack's L2 distortion divided by the exact QP optimum.

    This certifies the attack: a ratio of 1 means the minimal perturbation was found. Rows that
    needed no perturbation are left out.

    Returns:
        {"n", "mean", "median", "p95", "max", "share_within_2_percent"} over the successful rows, or
        None when the model is not affine.
    """
    try:
        w, b = qp_oracle.affine_parameters(model, x.shape[1:])
    except ModelError:
        return None
    rows = np.flatnonzero(records.success & (records.distortion_l2 > 0))
    if rows.size == 0:
        return None
    exact = qp_oracle.exact_minimal_distortion(w, b, x[rows], records.target[rows])
    ratio = records.distortion_l2[rows] / exact.distance
    return {
        "n": int(rows.size),
        "mean": float(np.mean(ratio)),
        "median": float(np.median(ratio)),
        "p95": float(np.quantile(ratio, 0.95)),
        "max": float(np.max(ratio)),
        "share_within_2_percent": float(np.mean(ratio <= 1.02)),
    }


def tables(document, baselines, settings):
    """Table 1 (models of the full training set) and Table 3 (P1 / P2 models), paper beside ours."""
    return [
        _distortion_table(
            document, baselines, "table1", settings.table1_split, (("train_error", "train"), ("test_error", "test")),
            f"Table 1: clean errors and minimal distortion ({settings.table1_split} sample)",
            f"Av. min. distortion: mean per-pixel RMS distortion of the successful adversarials over a sample of "
            f"the {settings.table1_split} split; the paper reports no success rate.",
            ("Model", "Train error (%)", "Test error (%)", "Av. min. distortion", "Success rate (%)"),
        ),
        _distortion_table(
            document, baselines, "table3", settings.table3_split,
            (("p1_error", "p1"), ("p2_error", "p2"), ("test_error", "test")),
            "Table 3: models trained on disjoint halves P1 / P2 of the training set",
            f"Min. av. distortion: mean per-pixel RMS distortion over a sample of the {settings.table3_split} split.",
            ("Model", "Error on P1 (%)", "Error on P2 (%)", "Error on test (%)", "Min. av. distortion",
             "Success rate (%)"),
        ),
    ]


def _distortion_table(document, baselines, key, split, error_columns, title, note, header):
    """Table 1 or 3: clean errors per split, then mean minimal distortion and success rate.

    `error_columns` pairs each paper field (e.g. "train_error") with the split of our clean error.
    """
    rows_of_paper = paper_rows(baselines, key)
    paper = {row["model"]: row for row in rows_of_paper}
    entries = {entry["id"]: entry for entry in document["entries"]}
    names = display_names(document, baselines)
    rows = []
    for model in row_ids(document, rows_of_paper, lambda e: paper_table(e["train_split"]) == key):
        entry, reference = entries.get(model, {}), paper.get(model, {})
        summary = lookup(entry, NAME, split)
        rows.append((
            names.get(model, model),
            *(Comparison(reference.get(field), lookup(entry, "clean_errors", ours), "percent")
              for field, ours in error_columns),
            Comparison(reference.get("distortion_mean"), lookup(summary, "mean"), "distortion"),
            Comparison(None, lookup(summary, "success_rate"), "percent"),
        ))
    return Table(key, title, note, header, tuple(rows), has_paper=baselines is not None)


def figures(document, context):
    """Adversarial examples per model (the paper's Fig. 5), the distortion histograms and the side-by-side
    figure of `side_by_side_models`."""
    from robustbench_keras.plots import figures as plots

    names = display_names(document, baselines_for(document, load_baselines()))
    drawn, distortions = [], {}
    for model_id, records in context.records.items():
        x, y = context.samples[next(iter(context.entries[model_id].sections[NAME]))]
        shown = np.flatnonzero(records.success)[:NUM_EXAMPLES_SHOWN]
        distortions[names.get(model_id, model_id)] = records.distortion_rms  # NaN where it failed: counted
        if len(shown):
            drawn.append((f"Adversarial examples for {names.get(model_id, model_id)} (original, perturbation ×10, "
                          "adversarial)", f"adversarial_{model_id}.png", plots.plot_adversarial_examples,
                          (x[shown], records.x_adv[shown], y[shown], records.target[shown])))
    if distortions:
        drawn.append(("Minimal distortion per model (per-pixel RMS)", "distortion_histograms.png",
                      plots.plot_distortion_histograms, (distortions,)))
    return drawn + _side_by_side(document, context, names)


def _side_by_side(document, context, names):
    """The figure of the run's `side_by_side_models`: the first images every one of them was attacked on
    toward the same target and successfully, one row of adversarials per model; [] without their records."""
    from robustbench_keras.plots.side_by_side import plot_side_by_side

    model_ids = lookup(document, "scorers", NAME, "side_by_side_models") or []
    if not model_ids or any(m not in context.records for m in model_ids):
        return []
    splits = {next(iter(context.entries[m].sections[NAME])) for m in model_ids}
    if len(splits) != 1:  # e.g. a Table 1 and a Table 3 model: not the same images
        return []
    x, y = context.samples[splits.pop()]
    records = [context.records[m] for m in model_ids]
    same = np.logical_and.reduce([r.success & (r.target == records[0].target) for r in records])
    shown = np.flatnonzero(same)[:NUM_EXAMPLES_SHOWN]
    if not len(shown):
        return []
    adversarials = {names.get(m, m): r.x_adv[shown] for m, r in zip(model_ids, records)}
    return [(f"The same images' adversarial examples for {', '.join(adversarials)}, side by side (target and "
             "per-pixel RMS distortion above each)", "side_by_side.png", plot_side_by_side,
             (x[shown], adversarials, y[shown], records[0].target[shown]))]
