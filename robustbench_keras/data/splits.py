"""The splits a suite can name: train, test, and the paper's P1 / P2 halves of the training set.

Szegedy et al. 2014 (arXiv 1312.6199), Table 3, train models on P1 and P2, the first and the second
30,000 images of the MNIST training set in its original order.
"""

from robustbench_keras.errors import DataError

SPLIT_NAMES = ("train", "test", "p1", "p2")
HALF = 30_000


def select(dataset, split):
    """Returns `(x, y)` of one split of a `Dataset` (views, read-only like the dataset's arrays).

    Raises:
        DataError: unknown split name.
    """
    if split == "train":
        return dataset.x_train, dataset.y_train
    if split == "test":
        return dataset.x_test, dataset.y_test
    if split == "p1":
        return dataset.x_train[:HALF], dataset.y_train[:HALF]
    if split == "p2":
        return dataset.x_train[HALF : 2 * HALF], dataset.y_train[HALF : 2 * HALF]
    raise DataError(f"split {split!r}: unknown; expected one of {', '.join(SPLIT_NAMES)}")
