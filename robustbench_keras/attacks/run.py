"""`run_attack`: choose targets by policy, attack, and keep one record per example."""

import numpy as np

from robustbench_keras.attacks.targets import candidate_targets


def run_attack(attack, model, x, labels, target_policy="random", seed=0, targets=None, progress=True):
    """Attacks every example of x toward the targets its policy picks.

    For "closest" every wrong label is a candidate and each example keeps its smallest successful distortion,
    i.e. the untargeted minimal distortion. With `num_shortlisted_targets` k in the attack's settings (0 < k <
    classes - 1), the c search alone (`attack.run(..., polish=False)`) first runs on every candidate, and only
    the k whose c search came closest get the whole attack: on the peers' 100 MNIST examples the top 3 held the
    closest of all 9 on every example of three models (README, "Untargeted").

    Args:
        attack: `LBFGSAttack` (or an attack with its `run` and `settings`).
        model: Keras model returning logits (n, classes).
        x: float32 (n, ...) in [0, 1].
        labels: int (n,), true labels.
        target_policy: one of `targets.TARGET_POLICIES`.
        seed: seed of the "random" policy.
        targets: int (n,), only with policy "given".
        progress: show a progress line.

    Returns:
        AttackRecords with one row per example (index 0..n-1); metadata holds the attack settings,
        the policy and the seed. Per-example evaluation counts and time include every target tried, and the
        shortlist's c searches.

    Raises:
        SuiteError: see `targets.candidate_targets`.
    """
    x = np.asarray(x, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    logits = np.asarray(model.predict(x, batch_size=1024, verbose=0))
    candidates = candidate_targets(target_policy, labels, num_classes=logits.shape[-1], seed=seed, logits=logits,
                                targets=targets)
    n = len(candidates)
    counts = ("num_grad_evals", "num_forward_evals", "time_s")
    spent = dict.fromkeys(counts, 0.0)
    shortlist = attack.settings.num_shortlisted_targets
    if 0 < shortlist < candidates.shape[1]:
        screened = _attack_every_candidate(attack, model, x, labels, candidates, progress, polish=False)
        distance = np.where(screened.success, screened.distortion_l2, np.inf).reshape(n, -1)
        closest_first = np.argsort(distance, axis=1, kind="stable")[:, :shortlist]
        candidates = np.take_along_axis(candidates, closest_first, axis=1)
        spent = {name: getattr(screened, name).reshape(n, -1).sum(axis=1) for name in counts}
    records = _attack_every_candidate(attack, model, x, labels, candidates, progress)
    k = candidates.shape[1]
    distance = np.where(records.success, records.distortion_l2, np.inf).reshape(n, k)
    per_example = {name: getattr(records, name).reshape(n, k).sum(axis=1) + spent[name] for name in counts}
    records = records.select(np.arange(n) * k + np.argmin(distance, axis=1))
    for name, total in per_example.items():
        setattr(records, name, total.astype(getattr(records, name).dtype))
    records.index = np.arange(n)
    records.metadata = {"attack": attack.settings.to_json(), "target_policy": target_policy, "seed": int(seed)}
    return records


def _attack_every_candidate(attack, model, x, labels, candidates, progress, polish=True):
    """`attack.run` on every (example, candidate target) pair, rows candidate-major per example: example i,
    target j -> row i * k + j."""
    k = candidates.shape[1]
    return attack.run(model, np.repeat(x, k, axis=0), candidates.reshape(-1), np.repeat(labels, k),
                      progress=progress, polish=polish)
