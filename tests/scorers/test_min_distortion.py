"""min_distortion scorer (Tables 1 and 3): samples, settings, resumable chunks."""

import numpy as np
import pytest

from robustbench_keras.scorers import min_distortion


def test_sample_is_seeded_sorted_and_without_repeats():
    a = min_distortion.sample_indices(60000, 1000, seed=0)
    assert np.array_equal(a, min_distortion.sample_indices(60000, 1000, seed=0))
    assert len(np.unique(a)) == 1000 and np.all(np.diff(a) > 0)
    assert not np.array_equal(a, min_distortion.sample_indices(60000, 1000, seed=1))
    assert len(min_distortion.sample_indices(50, 1000, seed=0)) == 50


def test_tables_choose_their_split():
    settings = min_distortion.Settings(table1_split="train", table3_split="test")
    assert settings.split_for("table1") == "train"
    assert settings.split_for("table3") == "test"


@pytest.mark.parametrize("field, value, message", [
    ("target", "nearest", "target: expected one of"),
    ("num_examples", 0, "num_examples: expected a positive integer"),
    ("table1_split", "validation", "table1_split: expected one of"),
])
def test_settings_refuse_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        min_distortion.Settings(**{field: value})
