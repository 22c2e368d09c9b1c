"""Blend: the contract, plus the weighted z-score arithmetic and parameter checks."""

from __future__ import annotations

import numpy as np
import pytest
from contract import RecommenderContract, block_interactions

from nextbuy.errors import ConfigError
from nextbuy.models import registry
from nextbuy.models.base import Recommender
from nextbuy.models.blend import standardize

COMPONENTS = {
    "ease": {"regularization": 1.0},
    "ials": {"factors": 4, "regularization": 0.05, "unobserved_weight": 0.2, "iterations": 8},
}


class TestBlend(RecommenderContract):
    def make_model(self) -> Recommender:
        return registry.create("blend", components=COMPONENTS, weights={"ease": 1.0, "ials": 0.5})


def test_score_is_weighted_sum_of_standardized_components() -> None:
    train = block_interactions()
    model = registry.create("blend", components=COMPONENTS, weights={"ease": 2.0, "ials": 0.5}).fit(
        train
    )
    users = np.arange(5)
    ease = registry.create("ease", **COMPONENTS["ease"]).fit(train)
    want = 2.0 * standardize(ease.score(users)) + 0.5 * standardize(
        model.components_["ials"].score(users)
    )
    np.testing.assert_allclose(model.score(users), want, rtol=1e-5, atol=1e-5)
    z = standardize(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    np.testing.assert_allclose(z[0], [-1.2247449, 0.0, 1.2247449], rtol=1e-6)
    assert np.isfinite(z).all()


def test_same_model_twice_with_tags() -> None:
    model = registry.create(
        "blend",
        components={"ease:a": {"regularization": 1.0}, "ease:b": {"regularization": 50.0}},
        weights={"ease:a": 1.0, "ease:b": 1.0},
    ).fit(block_interactions())
    assert set(model.components_) == {"ease:a", "ease:b"}


def test_defaults_are_not_shared_between_instances() -> None:
    a = registry.create("blend")
    a.params["weights"]["ease"] = 7.0
    assert registry.get("blend").defaults["weights"]["ease"] == 1.0


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"components": {}, "weights": {}}, "at least one"),
        ({"components": {"ease": {}}, "weights": {"ials": 1.0}}, "exactly the components"),
        ({"components": {"blend": {}}, "weights": {"blend": 1.0}}, "cannot contain a blend"),
    ],
)
def test_bad_parameters(params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        registry.create("blend", **params).fit(block_interactions())
