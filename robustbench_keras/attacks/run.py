"""`run_attack`: choose targets by policy, attack, and keep one record per example."""

import numpy as np

from robustbench_keras.attacks.targets import candidate_targets


def run_attack(attack, model, x, labels, target_policy="random", seed=0, targets=None, progress=True):
    """Attacks every example of x toward the targets its policy picks.

    For "closest" all wrong labels are attacked (batched as (classes - 1) * n problems) and each
    example keeps its smallest successful distortion, i.e. the untargeted minimal distortion.

    Args:
        attack: an attack with `run(model, x, targets, labels, progress)` and `settings()`, e.g.
            `LBFGSAttack`.
        model: Keras model returning logits (n, classes).
        x: float32 (n, ...) in [0, 1].
        labels: int (n,), true labels.
        target_policy: one of `targets.TARGET_POLICIES`.
        seed: seed of the "random" policy.
        targets: int (n,), only with policy "given".
        progress: show a progress line.

    Returns:
        AttackRecords with one row per example (index 0..n-1); metadata holds the attack settings,
        the policy and the seed. Per-example evaluation counts and time include every target tried.

    Raises:
        SuiteError: see `targets.candidate_targets`.
    """
    x = np.asarray(x, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    logits = np.asarray(model.predict(x, batch_size=1024, verbose=0))
    candidates = candidate_targets(target_policy, labels, num_classes=logits.shape[-1], seed=seed, logits=logits,
                                targets=targets)
    n, k = candidates.shape
    # Rows ordered candidate-major per example: example i, target j -> row i * k + j.
    records = attack.run(model, np.repeat(x, k, axis=0), candidates.reshape(-1), np.repeat(labels, k),
                         progress=progress)
    if k > 1:
        distance = np.where(records.success, records.distortion_l2, np.inf).reshape(n, k)
        rows = np.arange(n) * k + np.argmin(distance, axis=1)
        per_example = {name: getattr(records, name).reshape(n, k).sum(axis=1)
                       for name in ("num_grad_evals", "num_forward_evals", "time_s")}
        records = records.select(rows)
        for name, total in per_example.items():
            setattr(records, name, total)
    records.index = np.arange(n)
    records.metadata = {"attack": attack.settings.to_json(), "target_policy": target_policy, "seed": int(seed)}
    return records
