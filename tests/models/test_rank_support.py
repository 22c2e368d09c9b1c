"""Ranking from rating models: a rarely rated favourite must not top everyone's list."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from test_mf import low_rank

from nextbuy.data.interactions import Interactions
from nextbuy.evaluation.concentration import same_top_share
from nextbuy.models import registry


def test_support_gating_keeps_a_cult_item_off_everyones_top() -> None:
    train, _ = low_rank()
    n_users, n_items = train.shape
    cult = sp.csr_matrix((np.full(4, 5.0), (np.arange(4), np.zeros(4))), shape=(n_users, 1))
    ratings = Interactions.from_csr(sp.hstack([train.csr, cult]).tocsr(), explicit=True)
    model = registry.create("bpmf", factors=3, sweeps=40, rank_support=0).fit(ratings)
    users = np.arange(n_users)
    recs = model.recommend(users, k=10)[0]
    assert same_top_share(recs) > 0.25 and (recs[:, 0] == n_items).mean() > 0.25  # the cult
    predicted = model.predict(users, np.full(n_users, n_items))
    model.set_params(rank_support=10.0)  # the default: scoring only, no refit
    gated = model.recommend(users, k=10)[0]
    assert same_top_share(gated) < 0.1, same_top_share(gated)  # measured 0.067 (from 0.313)
    assert not (gated == n_items).any()
    # predicted ratings are never shrunk, only the ranking
    np.testing.assert_array_equal(model.predict(users, np.full(n_users, n_items)), predicted)
