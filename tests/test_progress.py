"""The progress line: counts, and an ETA that follows per-step weights when given."""

import io
import re

import pytest

from robustbench_keras import progress
from robustbench_keras.progress import Progress


class Clock:
    """A `time.perf_counter` the test advances by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(progress.time, "perf_counter", fake)
    return fake


def _last_eta(stream):
    return int(re.findall(r"eta (\d+)s", stream.getvalue())[-1])


def test_without_weights_the_eta_assumes_equal_steps(clock):
    stream = io.StringIO()
    bar = Progress("models", 4, unit="model", stream=stream)
    clock.now += 10.0
    bar.update(1)
    assert _last_eta(stream) == 30
    assert stream.getvalue().splitlines()[-1] == "models: 1/4 models, 10.0s, eta 30s"


def test_with_weights_the_eta_is_time_per_weight_times_the_weight_left(clock):
    stream = io.StringIO()
    bar = Progress("models", 3, unit="model", stream=stream, weights=[1, 9, 30])
    clock.now += 10.0
    bar.update(1)  # 10 s for weight 1: 39 left
    assert _last_eta(stream) == 390
    clock.now += 11.0  # the forced lines are printed at most every 10 s on a pipe
    bar.update(1)  # 21 s for weight 10: 30 left
    assert _last_eta(stream) == 63
    clock.now += 30.0
    bar.update(1)
    assert stream.getvalue().splitlines()[-1] == "models: 3/3 models, 51.0s"


@pytest.mark.parametrize("weights", [[1, 2], [1, 0, 2], [1, -1, 2]])
def test_weights_must_be_one_positive_number_per_step(weights):
    with pytest.raises(ValueError, match=r"Progress\('models'\): expected 3 positive weights"):
        Progress("models", 3, weights=weights, enabled=False)
