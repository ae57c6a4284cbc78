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
import hashlib
import json
from pathlib import Path

import numpy as np

from robustbench_keras.attacks import qp_oracle
from robustbench_keras.attacks import TARGET_POLICIES, AttackRecords, choose_targets, run_attack, summarize_distortions
from robustbench_keras.errors import ModelError
from robustbench_keras.progress import Progress
from robustbench_keras.provenance import file_sha256

SPLITS = ("train", "test", "p1", "p2")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Settings of the `min_distortion` scorer.

    Attributes:
        num_examples: examples attacked per model (the same sample for every model of a table).
        target: target policy: "random" (seeded wrong label), "next", "least_likely" or "closest"
            (minimum over all wrong labels, the untargeted minimal distortion).
        table1_split: split Table 1 (and Table 2) models are attacked on; the paper: a training sample.
        table3_split: split Table 3 (and Table 4) models are attacked on; the paper: the test set.
        chunk_size: examples per resumable chunk.
    """

    num_examples: int = 1000
    target: str = "random"
    table1_split: str = "train"
    table3_split: str = "test"
    chunk_size: int = 250

    def __post_init__(self):
        if self.num_examples < 1:
            raise ValueError(f"num_examples: expected a positive integer, got {self.num_examples}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size: expected a positive integer, got {self.chunk_size}")
        policies = [p for p in TARGET_POLICIES if p != "given"]
        if self.target not in policies:
            raise ValueError(f"target: expected one of {', '.join(policies)}, got '{self.target}'")
        for name in ("table1_split", "table3_split"):
            if getattr(self, name) not in SPLITS:
                raise ValueError(f"{name}: expected one of {', '.join(SPLITS)}, got '{getattr(self, name)}'")

    def split_for(self, table):
        """The split a model of paper table `table` ("table1", "table3" or None) is attacked on."""
        return self.table3_split if table == "table3" else self.table1_split


def sample_indices(num_available, num_examples, seed):
    """A seeded sample of example indices, sorted, the same for every model of a split."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num_available, size=min(num_examples, num_available), replace=False))


def score(attack, model, x, y, *, target, seed, records_dir, name, progress=True, chunk_size=250, fingerprint=""):
    """Attacks every example of `x` and summarises the distortions.

    Args:
        attack: a configured `LBFGSAttack`.
        model: Keras model returning logits.
        x: float32 (N, 28, 28) in [0, 1], the sample to attack; y: int (N,) true labels.
        target: target policy.
        seed: seed of the target draw and the attack.
        records_dir: folder for the per-example records (and the resumable chunks).
        name: file-name-safe name of this job, e.g. "fc10_wd1e-4-train".
        progress: show a progress line.
        chunk_size: examples per resumable chunk.
        fingerprint: text identifying everything else the records depend on (checkpoint hash, sample).

    Returns:
        `(records, summary)`: the merged `AttackRecords` and the leaderboard summary, which carries
        the target policy and the records' path and sha256.
    """
    key = _job_key(attack, target, seed, chunk_size, fingerprint, x, y)
    final_path = Path(records_dir) / f"{name}-{key}.npz"
    if final_path.is_file():
        records = AttackRecords.load(final_path)
    else:
        records = _attack_in_chunks(attack, model, x, y, target, seed, final_path.with_suffix(""), name, progress, chunk_size)
        records.save(final_path)
    summary = dict(summarize_distortions(records), target_policy=target)
    exact = compare_with_exact_optimum(records, x, model)
    if exact is not None:
        summary["exact_optimum_ratio"] = exact
    summary["records"] = {"path": str(final_path), "sha256": file_sha256(final_path)}
    return records, summary


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


def _attack_in_chunks(attack, model, x, y, target, seed, chunk_dir, name, progress, chunk_size):
    policy = "closest" if target == "closest" else "given"
    targets = None if target == "closest" else choose_targets(target, model, x, y, seed=seed)
    chunk_dir.mkdir(parents=True, exist_ok=True)
    starts = range(0, len(x), chunk_size)
    chunks = []
    bar = Progress(f"attacking {name}", len(x), unit="example", enabled=progress)
    for number, start in enumerate(starts):
        stop = min(start + chunk_size, len(x))
        path = chunk_dir / f"chunk_{number:04d}.npz"
        if path.is_file():
            chunk = AttackRecords.load(path)
        else:
            chunk_targets = None if targets is None else targets[start:stop]
            chunk = run_attack(
                attack, model, x[start:stop], y[start:stop], policy=policy, seed=seed + number,
                targets=chunk_targets, progress=False,
            )
            chunk = dataclasses.replace(chunk, index=chunk.index + start)  # positions in the whole sample
            chunk.save(path)
        chunks.append(chunk)
        bar.update(stop - start, info=f"{int(np.sum(chunk.success))}/{stop - start} successful in chunk")
    bar.close()
    return AttackRecords.concatenate(chunks)


def _job_key(attack, target, seed, chunk_size, fingerprint, x, y):
    digest = hashlib.sha256()
    digest.update(json.dumps([attack.settings(), target, seed, chunk_size, fingerprint], sort_keys=True).encode())
    digest.update(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return digest.hexdigest()[:12]
