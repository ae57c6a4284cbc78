"""The registry: ids in paper order, specs with the paper's errors, unknown ids refused."""

import pytest

from robustbench_keras import zoo
from robustbench_keras.errors import ModelError

PAPER_ORDER = [
    "fc10_wd1e-4",
    "fc10_wd1e-2",
    "fc10_wd1",
    "fc100_100_10",
    "fc200_200_10",
    "ae400_10",
    "fc100_100_10_p1",
    "fc123_456_10_p1",
    "fc100_100_10_p2",
    "mnist_convnet",
]


def test_names_are_in_paper_order():
    assert zoo.names() == PAPER_ORDER


def test_specs_carry_the_papers_names_splits_and_errors():
    assert zoo.get("fc10_wd1e-4").paper_name == "FC10(1e-4)"
    assert (zoo.get("fc10_wd1").paper_train_error, zoo.get("fc10_wd1").paper_test_error) == (0.212, 0.20)
    assert zoo.get("fc200_200_10").paper_test_error == 0.0154
    assert zoo.get("ae400_10").paper_train_error == 0.0057
    assert zoo.get("fc100_100_10_p2").paper_name == "FC100-100-10'"
    assert [zoo.get(m).train_split for m in PAPER_ORDER[6:9]] == ["p1", "p1", "p2"]
    assert [zoo.get(m).table for m in PAPER_ORDER] == ["table1"] * 6 + ["table3"] * 3 + [None]
    assert zoo.get("mnist_convnet").paper_test_error is None
    with pytest.raises(AttributeError):
        zoo.get("fc10_wd1").paper_name = "x"


def test_unknown_id_raises_model_error_listing_the_known_ids():
    with pytest.raises(ModelError, match="'fc999'.*fc10_wd1e-4.*mnist_convnet") as info:
        zoo.get("fc999")
    assert "\n" not in str(info.value)
    with pytest.raises(ModelError):
        zoo.build("fc999")
