"""Popularity: the contract, plus counts, value weighting and similar_items semantics."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from contract import RecommenderContract

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models import registry
from nextbuy.models.base import Recommender
from nextbuy.models.common import item_popularity


class TestPopularity(RecommenderContract):
    personalized = False

    def make_model(self) -> Recommender:
        return registry.create("popularity")


def small() -> Interactions:
    # item 0: 3 users (values 1), item 1: 1 user (value 10), item 2: 2 users, item 3: nobody
    m = sp.csr_matrix(np.array([[1, 10, 1, 0], [1, 0, 1, 0], [1, 0, 0, 0]], dtype=np.float32))
    return Interactions.from_csr(m)


def test_counts_distinct_users() -> None:
    model = registry.create("popularity").fit(small())
    np.testing.assert_array_equal(model.popularity_, [3, 1, 2, 0])
    ids, scores = model.recommend([0, -1], k=4, exclude_seen=False)
    np.testing.assert_array_equal(ids, [[0, 2, 1, 3]] * 2)
    np.testing.assert_array_equal(scores[0], [3, 2, 1, 0])


def test_value_weighting_sums_values() -> None:
    model = registry.create("popularity", weighting="value").fit(small())
    np.testing.assert_array_equal(model.popularity_, [3, 10, 2, 0])
    assert model.recommend([1], k=1)[0][0, 0] == 1  # unseen: 1, 3
    with pytest.raises(ConfigError, match="weighting"):
        item_popularity(small().csr, "median")  # type: ignore[arg-type]


def test_similar_items_are_the_most_popular_others() -> None:
    model = registry.create("popularity").fit(small())
    ids, scores = model.similar_items([0, 2, 3], k=2)
    np.testing.assert_array_equal(ids, [[2, 1], [0, 1], [0, 2]])
    np.testing.assert_array_equal(scores, [[2, 1], [3, 1], [3, 2]])


def test_predict_is_item_popularity() -> None:
    model = registry.create("popularity").fit(small())
    pred = model.predict(np.array([0, 2, 1]), np.array([1, 0, 3]))
    np.testing.assert_array_equal(pred, [1, 3, 0])
