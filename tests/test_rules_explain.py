"""Business rules (vectorized) and explanations (contributions add up to the score)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.models import registry
from nextbuy.models.capabilities import Explains
from nextbuy.models.registry import names_with
from nextbuy.rules import apply_boosts, boost_vector, cap_per_group


def test_cap_per_group_keeps_order_and_refills() -> None:
    brands = np.array([0, 0, 1, 0, 2, -1, 1])
    ids = np.array([[0, 1, 3, 2, 4, 5, 6], [5, 6, 2, 0, -1, -1, -1]])
    scores = -np.arange(7, dtype=np.float32)[None, :].repeat(2, axis=0)
    out_ids, out_scores = cap_per_group(ids, scores, brands, max_per_group=1, k=4)
    assert out_ids.tolist() == [[0, 2, 4, 5], [5, 6, 0, -1]]
    assert out_scores[0].tolist() == [0.0, -3.0, -4.0, -5.0]
    assert out_scores[1, 3] == -np.inf
    two, _ = cap_per_group(ids, scores, brands, max_per_group=2, k=4)
    assert two[0].tolist() == [0, 1, 2, 4]


def test_boosts_lift_and_bury_by_attribute() -> None:
    codes = {"brand": np.array([0, 1, 1, -1])}
    lookups = {"brand": {"north": 0, "south": 1}}
    boost = boost_vector(codes, lookups, {"brand": {"North": 3.0, "South": -1.0}}, 4)
    assert boost is not None and boost.tolist() == [3.0, -1.0, -1.0, 0.0]
    assert boost_vector(codes, lookups, {"brand": {"nobody": 1.0}}, 4) is None
    scores = np.array([[1.0, 4.0, 3.0, -np.inf]], dtype=np.float32)
    out = apply_boosts(scores, boost)
    assert np.argmax(out[0]) == 0 and out[0, 3] == -np.inf


@pytest.fixture(scope="module")
def train() -> Interactions:
    rng = np.random.default_rng(0)
    dense = (rng.random((60, 30)) < 0.2).astype(np.float32) * rng.integers(1, 4, (60, 30))
    return Interactions.from_csr(sp.csr_matrix(dense))


@pytest.mark.parametrize("name", ["ease", "itemknn", "als"])
def test_contributions_add_up_to_the_score(name: str, train: Interactions) -> None:
    params = {"factors": 8, "iterations": 5} if name == "als" else {}
    model = registry.create(name, **params).fit(train)
    history = train.csr[[3]]
    items = np.array([0, 5, 7, 11])
    assert isinstance(model, Explains)
    contrib = model.contributions(history, items)
    assert contrib.shape == (4, history.nnz)
    expected = model.score(np.array([3]), history, recalculate_user=True)[0, items]
    if name == "als":  # 6 per user: sparse enough for the popularity prior, not the history's
        prior = model.item_prior()
        assert prior is not None and prior[items].max() > 0
        expected = expected - prior[items]
    np.testing.assert_allclose(contrib.sum(axis=1), expected, rtol=1e-3, atol=1e-4)


def test_unexplainable_model_says_so(train: Interactions) -> None:
    model = registry.create("popularity").fit(train)
    assert not isinstance(model, Explains)
    assert sorted(names_with(Explains)) == [
        "als",
        "ease",
        "itemknn",
        "spark_als",
        "spark_als_explicit",
    ]
