"""Clean error rates: the arg-max logit against the label."""

import math

import numpy as np

from robustbench_keras import zoo
from robustbench_keras.evaluation import error_rate


def test_error_rate_counts_wrong_arg_max_logits():
    model = zoo.build("fc10_wd1", seed=0)
    x = np.zeros((4, 28, 28), np.float32)
    predicted = np.argmax(model.predict(x, verbose=0), axis=1)
    wrong = (predicted + 1) % 10
    assert error_rate(model, x, predicted) == 0.0
    assert error_rate(model, x, np.where(np.arange(4) < 1, wrong, predicted)) == 0.25
    assert math.isnan(error_rate(model, x[:0], predicted[:0]))
