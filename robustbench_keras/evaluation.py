"""Clean predictions and error rates of a model on a dataset's splits."""

import numpy as np


def predict_labels(model, x, batch_size=1000):
    """Predicted class of each example of `x` (float32 (N, 28, 28) in [0, 1])."""
    return np.argmax(model.predict(x, batch_size=batch_size, verbose=0), axis=1)


def error_rate(model, x, y):
    """Fraction of examples whose predicted class differs from `y`; NaN for no examples."""
    if len(x) == 0:
        return float("nan")
    return float(np.mean(predict_labels(model, x) != y))


def clean_errors(model, dataset, splits=None):
    """{split: error rate} of `model` on each named split of `dataset` (None: all of its `split_names`)."""
    return {split: error_rate(model, *dataset.split(split)) for split in splits or dataset.split_names}
