"""BPR: the contract, plus agreement with implicit's own recommend (bias column included)."""

from __future__ import annotations

import implicit.cpu.bpr
import numpy as np
import scipy.sparse as sp
from contract import RecommenderContract

from nextbuy.data.interactions import Interactions
from nextbuy.models import registry
from nextbuy.models.base import Recommender

PARAMS = {"factors": 8, "learning_rate": 0.05, "regularization": 0.01, "iterations": 200}


class TestBPR(RecommenderContract):
    def make_model(self) -> Recommender:
        return registry.create("bpr", **PARAMS, num_threads=1)


def test_scores_match_implicit_recommend() -> None:
    x = sp.random(50, 30, density=0.2, random_state=5, format="csr", dtype=np.float32)
    data = Interactions.from_csr(x)
    model = registry.create("bpr", **PARAMS, num_threads=1).fit(data)
    assert model.item_factors_.shape == (30, 9)
    np.testing.assert_array_equal(model.user_factors_[:, -1], 1.0)  # implicit's bias slot
    twin = implicit.cpu.bpr.BayesianPersonalizedRanking(factors=8, num_threads=1)
    twin.user_factors = np.array(model.user_factors_)
    twin.item_factors = np.array(model.item_factors_)
    users = np.arange(50)
    ref_ids, ref_scores = twin.recommend(users, data.binary_csr(), N=6)
    ids, scores = model.recommend(users, k=6)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-6)
    assert (ids == ref_ids).mean() > 0.98  # exact ties may order differently
    assert len(model.history_["train_auc"]) == PARAMS["iterations"]
    assert model.history_["train_auc"][-1] > 0.8


def test_new_user_vector_is_mean_of_history_items() -> None:
    x = sp.random(40, 20, density=0.3, random_state=6, format="csr", dtype=np.float32)
    model = registry.create("bpr", **PARAMS, num_threads=1).fit(Interactions.from_csr(x))
    rows = sp.csr_matrix(([1.0, 3.0], ([0, 0], [2, 5])), shape=(1, 20))
    vec = model.recalculate_user(rows)[0]
    expected = (model.item_factors_[2] + model.item_factors_[5]) / 2
    np.testing.assert_allclose(vec[:-1], expected[:-1], rtol=1e-6)
    assert vec[-1] == 1.0
    np.testing.assert_allclose(
        model.score([-1], rows, recalculate_user=True)[0],
        vec @ model.item_factors_.T,
        rtol=1e-5,
        atol=1e-6,
    )
