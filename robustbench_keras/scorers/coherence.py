"""Coherence of a set of images without humans, and the unit-versus-random comparison (Property 1).

Helpers of `unit_semantics`: label purity and mean pairwise cosine similarity of top-k sets, their
level for random sets, and the two-sample test between unit and random directions.
"""

import numpy as np
from scipy import stats

TEST_NAME = "mann_whitney_u"


def purity(labels):
    """Share of the majority label in each set.

    Args:
        labels: int array (num_sets, k) of class labels.

    Returns:
        float64 array (num_sets,) in [1/k, 1].
    """
    labels = np.asarray(labels)
    return np.array([np.bincount(row).max() for row in labels], dtype=np.float64) / labels.shape[1]


def majority_label(labels):
    """The most frequent label of each set (the smallest label on a tie).

    Args:
        labels: int array (num_sets, k).

    Returns:
        int list of length num_sets.
    """
    return [int(np.bincount(row).argmax()) for row in np.asarray(labels)]


def unit_rows(features):
    """Features centred on their mean over the held-out set, then scaled to unit length per row.

    Centring makes 0 the similarity of two typical images: MNIST pixels and ReLU features are all
    non-negative, so uncentred cosines are large for any pair and hide the difference between sets.

    Args:
        features: array (num_examples, ...) of pixels or activations.

    Returns:
        float64 array (num_examples, dim); an all-zero centred row stays zero.
    """
    flat = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    centred = flat - flat.mean(axis=0)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return centred / np.where(norms > 0, norms, 1.0)


def mean_pairwise_cosine(rows, index_sets):
    """Mean cosine similarity over the k(k-1)/2 distinct pairs of each set.

    Args:
        rows: float array (num_examples, dim) from `unit_rows` (unit length or zero).
        index_sets: int array (num_sets, k) of row indices, k >= 2.

    Returns:
        float64 array (num_sets,) in [-1, 1].
    """
    members = rows[np.asarray(index_sets)]  # (num_sets, k, dim)
    k = members.shape[1]
    # Sum over all ordered pairs is |sum of vectors|^2 minus the k diagonal terms |v|^2.
    total = np.square(members.sum(axis=1)).sum(axis=1) - np.square(members).sum(axis=(1, 2))
    return total / (k * (k - 1))


def random_sets(num_examples, k, num_sets, seed):
    """Index sets of k distinct examples drawn uniformly: the level a measure has by chance.

    Args:
        num_examples: size of the held-out set.
        k: set size.
        num_sets: how many sets.
        seed: seed of the draw.

    Returns:
        int array (num_sets, k).
    """
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(num_examples, size=k, replace=False) for _ in range(num_sets)])


def compare(unit_values, random_values, alpha):
    """Two-sided Mann-Whitney U test of unit against random directions for one measure.

    Mann-Whitney U rather than a t-test: with 10-20 directions per kind, and purities that are
    multiples of 1/k bounded by 1, normality cannot be assumed; the rank test needs none, corrects
    for the many ties, and has no resampling seed. SciPy computes the exact null distribution for
    small samples without ties and the tie-corrected normal approximation otherwise.

    Args:
        unit_values: the measure for each natural-basis direction.
        random_values: the measure for each random direction.
        alpha: significance level.

    Returns:
        dict: name, statistic (U of the units), p_value, distinguishable (p_value < alpha).
    """
    result = stats.mannwhitneyu(unit_values, random_values, alternative="two-sided")
    p_value = float(result.pvalue)
    if np.isnan(p_value):  # every value equal in both samples: no evidence of a difference
        p_value = 1.0
    return {
        "name": TEST_NAME,
        "statistic": float(result.statistic),
        "p_value": p_value,
        "distinguishable": bool(p_value < alpha),
    }
