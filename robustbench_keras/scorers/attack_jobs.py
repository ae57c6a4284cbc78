"""Chunked, resumable attacks of one model's sample, as units of work for an executor (Tables 1 and 3).

`plan` finds what is already on disk (the merged records, or some chunks), `attack_chunks` attacks the
missing chunks of any number of models in one executor stage (one unit per chunk, saved by the driver as
each arrives), and `finish` merges the chunks into the model's records file.
"""

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from robustbench_keras.attacks import AttackRecords, LBFGSAttack, choose_targets, run_attack
from robustbench_keras.executors import resolve_model
from robustbench_keras.provenance import file_sha256


@dataclasses.dataclass
class AttackJob:
    """One model's attack on one sample: its records file, its chunks, and the units still to run.

    Attributes:
        model, x, name, target_policy, seed: as given to `plan`; `settings` the attack's settings.
        relative: the merged records' path relative to the output folder; `final_path` the absolute one.
        records: the merged records when already on disk, else None until `finish`.
        paths: the chunk files; `chunks` the `AttackRecords` per chunk (None: still to attack).
        missing: (chunk number, (x, y, policy, targets, chunk seed, first position)) of each chunk to attack.
        time_s: seconds spent on this model's units (on whichever workers).
    """

    model: object
    x: np.ndarray
    name: str
    target_policy: str
    seed: int
    settings: object
    relative: Path
    final_path: Path
    records: object = None
    paths: list = dataclasses.field(default_factory=list)
    chunks: list = dataclasses.field(default_factory=list)
    missing: list = dataclasses.field(default_factory=list)
    time_s: float = 0.0


def plan(attack, model, x, y, *, target_policy, seed, output, name, chunk_size=250, fingerprint=""):
    """The `AttackJob` of `min_distortion.score`'s arguments: the merged records if intact, else the chunks
    left to attack.

    Targets are drawn for the whole sample first, and a chunk's examples, seed and targets depend only on
    its position, never on the executor, so every executor gives the same records.
    """
    key = _job_key(attack, target_policy, seed, chunk_size, fingerprint, x, y)
    relative = Path("records") / f"{name}-{key}.npz"
    job = AttackJob(model, x, name, target_policy, seed, attack.settings, relative, Path(output) / relative)
    job.records = AttackRecords.load_intact(job.final_path)
    if job.records is not None:
        return job
    chunk_dir = job.final_path.with_suffix("")
    chunk_dir.mkdir(parents=True, exist_ok=True)
    policy = "closest" if target_policy == "closest" else "given"
    targets = None if target_policy == "closest" else choose_targets(target_policy, model, x, y, seed=seed)
    job.paths = [chunk_dir / f"chunk_{number:04d}.npz" for number in range(len(range(0, len(x), chunk_size)))]
    job.chunks = [AttackRecords.load_intact(path) for path in job.paths]
    for number in [number for number, chunk in enumerate(job.chunks) if chunk is None]:
        start, stop = number * chunk_size, min((number + 1) * chunk_size, len(x))
        job.missing.append((number, (x[start:stop], y[start:stop], policy,
                                     None if targets is None else targets[start:stop], seed + number, start)))
    return job


def attack_chunks(jobs, executor):
    """Attacks the missing chunks of every job in one executor stage; the driver saves each as it arrives."""
    pending = [(job, number, chunk) for job in jobs for number, chunk in job.missing]
    if not pending:
        return
    handles = {}
    for job, _, _ in pending:
        if id(job.model) not in handles:
            handles[id(job.model)] = executor.share_model(job.model)
    units = [(job.settings, handles[id(job.model)], *chunk, job.target_policy, job.seed) for job, _, chunk in pending]
    labels = [f"{job.name} chunk {number}" for job, number, _ in pending]

    def save(position, records):
        job, number, _ = pending[position]
        records.save(job.paths[number])
        job.chunks[number] = records

    attacked = ", ".join(dict.fromkeys(job.name for job, _, _ in pending))  # the progress line names the models
    executor.map(f"attacking {attacked}", attack_chunk, units, on_done=save, labels=labels)
    by_label = dict(zip(labels, (job for job, _, _ in pending)))
    for timing in executor.timings[len(executor.timings) - len(pending):]:
        by_label[timing.unit].time_s += timing.seconds


def finish(job, summarize):
    """The merged records (saved once every chunk is there) and `summarize(records, x, model, policy)`
    with the records' path (relative to the output folder) and sha256."""
    if job.records is None:
        job.records = AttackRecords.concatenate(job.chunks)
        job.records.save(job.final_path)
    summary = summarize(job.records, job.x, job.model, job.target_policy)
    summary["records"] = {"path": job.relative.as_posix(), "sha256": file_sha256(job.final_path)}
    return job.records, summary


def attack_chunk(unit):
    """One unit of work: attacks one chunk of examples for one model; returns its `AttackRecords`.

    `unit` is (attack settings, model handle, x, y, policy, targets, chunk seed, position of the chunk's
    first example in the sample, the suite's target policy, the suite's seed).
    """
    settings, handle, x, y, policy, targets, chunk_seed, start, target_policy, seed = unit
    chunk = run_attack(LBFGSAttack(settings), resolve_model(handle), x, y, target_policy=policy, seed=chunk_seed,
                       targets=targets, progress=False)
    # Positions in the whole sample; the targets were drawn by the suite's policy.
    return dataclasses.replace(chunk, index=chunk.index + start,
                               metadata=dict(chunk.metadata, target_policy=target_policy, seed=seed))


def _job_key(attack, target_policy, seed, chunk_size, fingerprint, x, y):
    digest = hashlib.sha256()
    digest.update(json.dumps([attack.settings.to_json(), target_policy, seed, chunk_size, fingerprint],
                             sort_keys=True).encode())
    digest.update(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return digest.hexdigest()[:12]
