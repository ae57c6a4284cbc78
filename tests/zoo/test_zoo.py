"""The registry: ids in paper order, specs with the paper's errors, unknown ids refused, training costs."""

import pytest

from robustbench_keras import zoo
from robustbench_keras.errors import ModelError
from robustbench_keras.paper import load_baselines
from robustbench_keras.zoo import costs

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
    "fc100_100_10_dropout",
    "fc100_100_10_adv_input",
    "fc100_100_10_adv_layer",
]
# Random Mask (Luo et al. 2019) and its unmasked control, after the paper's models.
DEFENSE_MODELS = ["mnist_convnet_seed1", "mnist_convnet_mask50", "mnist_convnet_mask80"]
# Adversarial spheres (Gilmer et al. 2018), then Xiao et al. 2019 (ReLU stability), last.
SPHERES_MODELS = ["spheres_quadratic_d500", "spheres_relu_d500", "spheres_quadratic_d20", "spheres_relu_d20"]
XIAO_MODELS = ["xiao_conv_pgd", "xiao_conv_pgd_rs", "xiao_mlp_pgd", "xiao_mlp_pgd_rs"]


def test_names_are_in_paper_order():
    assert zoo.names() == PAPER_ORDER + DEFENSE_MODELS + SPHERES_MODELS + XIAO_MODELS


def test_specs_carry_the_papers_names_splits_and_errors():
    assert zoo.get("fc10_wd1e-4").paper_name == "FC10(1e-4)"
    assert (zoo.get("fc10_wd1").paper_train_error, zoo.get("fc10_wd1").paper_test_error) == (0.212, 0.20)
    assert zoo.get("fc200_200_10").paper_test_error == 0.0154
    assert zoo.get("ae400_10").paper_train_error == 0.0057
    assert zoo.get("fc100_100_10_p2").paper_name == "FC100-100-10'"
    assert [zoo.get(m).train_split for m in PAPER_ORDER[6:9]] == ["p1", "p1", "p2"]
    assert [zoo.get(m).train_split for m in PAPER_ORDER] == ["train"] * 6 + ["p1", "p1", "p2"] + ["train"] * 4
    assert zoo.get("fc100_100_10_p2").paper_train_error == 0.0  # its P2 error, Table 3
    assert zoo.get("mnist_convnet").paper_test_error is None
    assert zoo.get("mnist_convnet").paper_train_error is None
    with pytest.raises(AttributeError):
        zoo.get("fc10_wd1").paper_name = "x"


def test_unknown_id_raises_model_error_listing_the_known_ids():
    with pytest.raises(ModelError, match="'fc999'.*fc10_wd1e-4.*mnist_convnet") as info:
        zoo.get("fc999")
    assert "\n" not in str(info.value)
    with pytest.raises(ModelError):
        zoo.build("fc999")


def test_paper_errors_are_read_from_the_baselines_file():
    baselines = load_baselines()
    for row in baselines["table1"]["rows"]:
        assert (zoo.get(row["model"]).paper_train_error, zoo.get(row["model"]).paper_test_error) == (
            row["train_error"], row["test_error"])
    for row in baselines["table3"]["rows"]:
        spec = zoo.get(row["model"])
        assert (spec.paper_train_error, spec.paper_test_error) == (row[f"{spec.train_split}_error"], row["test_error"])


def test_multiply_adds_follow_the_layer_sizes():
    assert costs.multiply_adds("spheres_relu_d500") == 500 * 1000 + 1000 * 1000 + 1000 * 2
    assert costs.multiply_adds("fc10_wd1") == 784 * 10
    assert costs.multiply_adds("fc123_456_10_p1") == 784 * 123 + 123 * 456 + 456 * 10
    # conv 5x5x16 on 28x28 -> 24x24, pool -> 12x12; conv 5x5x32 -> 8x8, pool -> 4x4; dense 512-100-10
    assert costs.multiply_adds("mnist_convnet") == 24 * 24 * 25 * 16 + 8 * 8 * 25 * 16 * 32 + 512 * 100 + 100 * 10
    assert [layer.kernel.shape for layer in zoo.build("mnist_convnet").layers if hasattr(layer, "kernel")] == [
        (5, 5, 1, 16), (5, 5, 16, 32), (512, 100), (100, 10)]
    # Xiao et al.: stride-2 "same" convs, 28x28 -> 14x14 -> 7x7, no pooling
    assert costs.multiply_adds("xiao_conv_pgd") == 14 * 14 * 25 * 16 + 7 * 7 * 25 * 16 * 32 + 1568 * 100 + 100 * 10


def test_training_cost_scales_with_epochs_examples_and_size():
    fc10 = zoo.training_cost("fc10_wd1e-4")
    assert 0 < fc10 < zoo.training_cost("fc100_100_10") < zoo.training_cost("fc200_200_10")
    recipe = zoo.get("fc10_wd1e-4").recipe
    assert zoo.training_cost("fc10_wd1e-4", recipe.replace(epochs=2 * recipe.epochs)) == pytest.approx(2 * fc10)
    # The same network and recipe on half the examples (P1) costs half as much.
    assert zoo.training_cost("fc100_100_10_p1") == pytest.approx(
        zoo.training_cost("fc100_100_10", zoo.get("fc100_100_10_p1").recipe) / 2, rel=1e-2)
    ae = zoo.get("ae400_10").recipe
    assert zoo.training_cost("ae400_10") > zoo.training_cost("ae400_10", ae.replace(pretrain_epochs=0))
    with pytest.raises(ModelError):
        zoo.training_cost("fc999")
