"""Recipes: data with a canonical JSON form and the λ / 2 weight-decay convention."""

import json

import pytest

from robustbench_keras.zoo.recipes import RECIPES, Recipe


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
