"""Recipes: data with a canonical JSON form and the λ / 2 weight-decay convention."""

import json

import pytest

from robustbench_keras.zoo.recipes import RECIPES, AdversarialTraining, Recipe


def test_l2_factors_are_half_the_papers_lambda():
    assert Recipe(weight_decays=(1e-5, 1e-5, 1e-6), epochs=1, batch_size=1, learning_rate=0.1).l2_factors() == (
        pytest.approx(5e-6),
        pytest.approx(5e-6),
        pytest.approx(5e-7),
    )


def test_json_is_canonical_and_covers_every_field():
    recipe = RECIPES["ae400_10"]
    text = recipe.to_json()
    assert json.loads(text)["pretrain_epochs"] == recipe.pretrain_epochs
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert " " not in text
    same = Recipe(**{**json.loads(text), "weight_decays": [1e-6, 1e-6]})
    assert same.to_json() == text and same == recipe


def test_replace_changes_the_json():
    recipe = RECIPES["fc100_100_10"]
    assert recipe.replace(epochs=2).epochs == 2
    assert recipe.replace(epochs=2).to_json() != recipe.to_json()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"optimizer": "adagrad"}, "optimizer"),
        ({"schedule": "step"}, "schedule"),
        ({"epochs": 0}, "positive"),
        ({"pretrain_epochs": 2}, "pretrain_learning_rate"),
    ],
)
def test_invalid_recipes_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        RECIPES["fc100_100_10"].replace(**changes)


# The fields a Recipe had before dropout and adversarial training: their JSON is the cache key of every
# model trained before, so it must not change.
_FIELDS_BEFORE_SECTION_4_2 = ("weight_decays", "epochs", "batch_size", "learning_rate", "optimizer", "schedule",
                              "pretrain_epochs", "pretrain_learning_rate", "train_pretrained")


@pytest.mark.parametrize("model_id", [k for k, r in RECIPES.items()
                                      if r.adversarial is None and r.pgd is None and not r.dropout and not r.steps_per_epoch])
def test_existing_recipes_keep_their_json(model_id):
    recipe = RECIPES[model_id]
    before = {name: getattr(recipe, name) for name in _FIELDS_BEFORE_SECTION_4_2}
    assert recipe.to_json() == json.dumps({**before, "weight_decays": list(recipe.weight_decays)}, sort_keys=True,
                                          separators=(",", ":"))


def test_pgd_settings_enter_the_json():
    assert json.loads(RECIPES["xiao_conv_pgd_rs"].to_json())["pgd"]["rs_weight"] == 1e-4
    assert RECIPES["xiao_conv_pgd_rs"].to_json() != RECIPES["xiao_conv_pgd"].to_json()
    with pytest.raises(ValueError, match="exclusive"):
        RECIPES["fc100_100_10_adv_input"].replace(pgd=RECIPES["xiao_conv_pgd"].pgd)


def test_adversarial_settings_enter_the_json():
    recipe = RECIPES["fc100_100_10_adv_layer"]
    assert json.loads(recipe.to_json())["adversarial"]["level"] == "layer"
    assert json.loads(recipe.to_json())["adversarial"]["layers"] == [2]
    assert json.loads(recipe.to_json())["adversarial"]["mix_ratio"] == 0.5
    assert recipe.to_json() != RECIPES["fc100_100_10_adv_input"].to_json() != RECIPES["fc100_100_10"].to_json()
    assert json.loads(RECIPES["fc100_100_10_dropout"].to_json())["dropout"] == 0.2
    assert json.loads(RECIPES["spheres_relu_d500"].to_json())["steps_per_epoch"] == 1000


@pytest.mark.parametrize("changes", [{"level": "pixel"}, {"mix_ratio": 1.0}, {"refresh_fraction": 0.0},
                                     {"pool_size": 0}, {"num_c_steps": 0}, {"level": "layer", "layers": (0,)}])
def test_adversarial_settings_are_checked(changes):
    with pytest.raises(ValueError, match="AdversarialTraining"):
        AdversarialTraining(**changes)
