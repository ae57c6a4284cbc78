"""Target policies: which wrong label each example is pushed toward.

The paper does not say which targets it used (Szegedy et al. 2014, Section 4.1), so the suite
chooses one and every result records it:

    "given": targets supplied by the caller (each must differ from the label);
    "random": a uniformly random wrong label, seeded;
    "next": (label + 1) mod classes;
    "least_likely": the wrong label with the lowest logit on the clean input;
    "closest": every wrong label; the attack keeps the smallest success per example, which is the
        untargeted minimal distortion.
"""

import numpy as np

from robustbench_keras.errors import SuiteError

TARGET_POLICIES = ("random", "next", "least_likely", "closest", "given")


def choose_targets(target_policy, model, x, labels, *, seed=0, targets=None):
    """One target per example, by policy ("closest" has no single target: use `run_attack`).

    Args:
        target_policy: one of `TARGET_POLICIES` except "closest".
        model: Keras model returning logits (used by "least_likely" and for the number of classes).
        x: float32 (n, ...) in [0, 1]; labels: int (n,), the true labels.
        seed: seed of "random".
        targets: int (n,), required by "given" and refused otherwise.

    Returns:
        int64 (n,).

    Raises:
        SuiteError: unknown policy, "closest", missing or misplaced targets, or a target equal to its label.
    """
    if target_policy == "closest":
        raise SuiteError("choose_targets: 'closest' tries every wrong label, it has no single target; "
                         "pass target_policy='closest' to run_attack instead")
    logits = np.asarray(model.predict(np.asarray(x, np.float32), batch_size=1024, verbose=0))
    return candidate_targets(target_policy, labels, num_classes=logits.shape[-1], seed=seed, logits=logits,
                             targets=targets)[:, 0]


def candidate_targets(target_policy, labels, *, num_classes=10, seed=0, logits=None, targets=None):
    """Candidate targets per example: one column, or every wrong label for "closest".

    Args:
        target_policy: one of `TARGET_POLICIES`.
        labels: int (n,), the true labels.
        num_classes: number of classes.
        seed: seed of "random".
        logits: float (n, classes), the model's clean logits; required by "least_likely".
        targets: int (n,), required by "given" and refused otherwise.

    Returns:
        int64 (n, k): k = 1, or k = classes - 1 for "closest" (in increasing label order).

    Raises:
        SuiteError: unknown policy, missing or misplaced targets, or a given target equal to the label.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if target_policy not in TARGET_POLICIES:
        raise SuiteError(f"target policy: expected one of {', '.join(TARGET_POLICIES)}, got {target_policy!r}")
    if (targets is not None) != (target_policy == "given"):
        raise SuiteError(f"target policy {target_policy!r}: targets are passed exactly when the policy is 'given'; "
                         f"got targets={'an array' if targets is not None else 'None'}")
    if target_policy == "given":
        targets = np.asarray(targets, dtype=np.int64)
        if targets.shape != labels.shape:
            raise SuiteError(f"targets: expected shape {labels.shape} like the labels, got {targets.shape}")
        if np.any((targets < 0) | (targets >= num_classes)):
            raise SuiteError(f"targets: expected labels in [0, {num_classes}), got values outside")
        same = np.flatnonzero(targets == labels)
        if same.size:
            raise SuiteError(f"targets: each target must differ from the example's label, got "
                             f"{same.size} equal (first at index {same[0]}); pick wrong labels")
        return targets[:, None]
    if target_policy == "random":
        offsets = np.random.default_rng(seed).integers(1, num_classes, size=labels.shape)
        return ((labels + offsets) % num_classes)[:, None]
    if target_policy == "next":
        return ((labels + 1) % num_classes)[:, None]
    if target_policy == "least_likely":
        if logits is None:
            raise ValueError("candidate_targets: 'least_likely' needs the clean logits")
        masked = np.where(np.arange(num_classes)[None, :] == labels[:, None], np.inf, np.asarray(logits))
        return np.argmin(masked, axis=1).astype(np.int64)[:, None]
    every = np.arange(num_classes - 1)[None, :]
    return every + (every >= labels[:, None])
