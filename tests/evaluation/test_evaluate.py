"""Protocol runner: exclusion of train items, unknown and seen test rows, ratings, real models."""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from nextbuy.data.ids import IdMap
from nextbuy.data.interactions import Interactions
from nextbuy.evaluation import evaluate, evaluate_ranking, evaluate_ratings, ranking_metrics
from nextbuy.models.base import Recommender, State


class FixedScores(Recommender):
    """A test model whose score matrix is set by hand (rows: users, columns: items)."""

    name = "test-fixed-scores"

    def fit(self, train: Interactions, valid: Any = None, show_progress: bool = False) -> Any:
        self._remember(train)
        self.scores_ = np.zeros(train.shape, dtype=np.float32)
        return self

    def score(self, users: np.ndarray, user_items: sp.csr_matrix | None = None) -> np.ndarray:
        return self.scores_[users]

    def state(self) -> State:
        return {"scores": self.scores_}

    def set_state(self, state: dict[str, Any]) -> None:
        self.scores_ = state["scores"]


class FixedRatings(FixedScores):
    name = "test-fixed-ratings"
    predicts_ratings = True


def _inter(rows: list[tuple[str, str, float]], explicit: bool = False, **maps: Any) -> Interactions:
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "value"])
    return Interactions.from_frame(frame, explicit=explicit, **maps)


@pytest.fixture
def case() -> tuple[FixedScores, Interactions, Interactions]:
    """3 users x 5 items; the same item order for everyone; u2 has no test items."""
    train = _inter(
        [("u0", "i0", 1), ("u1", "i1", 1), ("u2", "i0", 1), ("u2", "i1", 1), ("u2", "i4", 1)],
        user_map=IdMap(["u0", "u1", "u2"]),
        item_map=IdMap(["i0", "i1", "i2", "i3", "i4"]),
    )
    test = _inter(  # its own ID maps: the runner re-indexes it onto train's
        [
            ("u0", "i1", 1),
            ("u0", "i3", 1),
            ("u1", "i2", 1),
            ("u1", "zz", 1),  # unknown item
            ("nobody", "i2", 1),  # unknown user
            ("u2", "i0", 1),  # also in train: can never be recommended
        ]
    )
    model = FixedScores().fit(train)
    model.scores_[:] = np.array([5, 4, 3, 2, 1], dtype=np.float32)
    return model, train, test


def test_hand_computed_ranking(case: tuple[FixedScores, Interactions, Interactions]) -> None:
    model, train, test = case
    res = evaluate_ranking(model, train, test, k=3)
    # u0 gets [i1, i2, i3] (i0 seen): hits at ranks 1 and 3, |T| = 2
    # u1 gets [i0, i2, i3] (i1 seen): hit at rank 2, |T| = 1
    ndcg_u0 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    ndcg_u1 = 1 / math.log2(3)
    expected = {
        "precision@3": (2 / 3 + 1 / 3) / 2,
        "recall@3": 1.0,
        "ndcg@3": (ndcg_u0 + ndcg_u1) / 2,
        "map@3": ((1 + 2 / 3) / 2 + 1 / 2) / 2,
        "mrr@3": (1 + 1 / 2) / 2,
        "hit_rate@3": 1.0,
        "coverage@3": 4 / 5,
    }
    assert res.metrics == pytest.approx(expected)
    assert list(res.metrics) == list(expected)
    assert (res.model, res.k, res.n_users) == ("test-fixed-scores", 3, 2)
    assert res.n_test_unknown == 2 and res.n_test_seen == 1
    assert res.recommend_seconds is not None and res.recommend_seconds >= 0
    assert res.fit_seconds is None and "rmse" not in res.metrics


def test_batches_do_not_change_results(case: tuple[FixedScores, Interactions, Interactions]):
    model, train, test = case
    a = evaluate_ranking(model, train, test, k=3, batch_size=1)
    b = evaluate_ranking(model, train, test, k=3, batch_size=4096)
    assert a.metrics == b.metrics


def test_relevance_threshold_keeps_liked_rows_only() -> None:
    maps = {"user_map": IdMap(["a", "b"]), "item_map": IdMap(["x", "y", "z"])}
    train = _inter([("a", "x", 5.0), ("b", "y", 3.0)], explicit=True, **maps)
    test = _inter([("a", "y", 5.0), ("a", "z", 2.0), ("b", "z", 1.0)], explicit=True, **maps)
    model = FixedScores().fit(train)
    model.scores_[:] = np.array([0, 1, 2], dtype=np.float32)  # z > y > x for everyone
    everything = evaluate_ranking(model, train, test, k=1)
    assert everything.n_users == 2
    assert everything.metrics["precision@1"] == pytest.approx(1.0)  # z is relevant to both
    liked = evaluate_ranking(model, train, test, k=1, relevance_threshold=4.0)
    assert liked.n_users == 1  # only a's rating of y is >= 4; b has no liked test item
    assert liked.metrics["precision@1"] == 0.0
    assert liked.metrics["recall@1"] == 0.0


def test_rating_metrics_for_rating_models_on_explicit_data() -> None:
    train = _inter([("a", "x", 4.0), ("b", "y", 2.0)], explicit=True)
    test = _inter(
        [("a", "y", 3.0), ("b", "x", 5.0), ("c", "x", 1.0)],
        explicit=True,
        user_map=IdMap([*train.user_map.ids, "c"]),
        item_map=train.item_map,
    )
    model = FixedRatings().fit(train)
    model.scores_[:] = np.array([[4.0, 3.5], [4.0, 2.0]], dtype=np.float32)
    res = evaluate(model, train, test, k=2, fit_seconds=1.5)
    # c is unknown to train: dropped. a,y: 3.5 vs 3; b,x: 4 vs 5
    assert res.metrics["rmse"] == pytest.approx(math.sqrt((0.25 + 1) / 2))
    assert res.metrics["mae"] == pytest.approx((0.5 + 1) / 2)
    assert res.n_test_unknown == 1 and res.fit_seconds == 1.5
    assert evaluate_ratings(model, test, train) == pytest.approx(
        {"rmse": res.metrics["rmse"], "mae": res.metrics["mae"]}
    )
    # implicit test data, or a model without ratings: ranking only unless asked
    assert "rmse" not in evaluate(FixedScores().fit(train), train, test).metrics
    assert "rmse" in evaluate(FixedScores().fit(train), train, test, ratings=True).metrics


def test_nan_predictions_are_skipped_and_counted() -> None:
    train = _inter([("a", "x", 4.0), ("b", "y", 2.0)], explicit=True)
    model = FixedRatings().fit(train)
    model.scores_[:] = np.array([[np.nan, 3.0], [4.0, 2.0]], dtype=np.float32)
    test = _inter([("a", "x", 5.0), ("a", "y", 4.0)], explicit=True)
    res = evaluate(model, train, test, k=1)
    assert res.metrics["rmse"] == pytest.approx(1.0) and res.metrics["mae"] == pytest.approx(1.0)
    assert res.n_test_unknown == 1


def test_model_fitted_on_other_data_is_refused(case) -> None:
    model, train, test = case
    other = _inter([("u0", "i0", 1)])
    with pytest.raises(ValueError, match="fitted on 3 users x 5 items"):
        evaluate_ranking(model, other, test)


def _random_split(seed: int = 0) -> tuple[Interactions, Interactions]:
    rng = np.random.default_rng(seed)
    dense = rng.random((120, 60)) < np.linspace(0.02, 0.4, 60)  # skewed popularity
    users, items = np.nonzero(dense)
    is_test = rng.random(len(users)) < 0.25
    full = Interactions.from_csr(sp.csr_matrix(dense.astype(np.float32)))
    train = full.subset(~is_test)
    return train, full.subset(is_test)


@pytest.mark.parametrize("name", ["popularity", "als"])
def test_real_models_match_bruteforce(name: str) -> None:
    if importlib.util.find_spec(f"nextbuy.models.{name}") is None:
        pytest.skip(f"nextbuy.models.{name} not written yet")
    from nextbuy.models import registry

    train, test = _random_split()
    params = {"factors": 8, "iterations": 5} if name == "als" else {}
    model = registry.create(name, **params).fit(train)
    res = evaluate(model, train, test, k=10)

    users = np.unique(test.users)
    recs, _ = model.recommend(users, k=10)
    assert not np.any(train.csr[users].toarray()[np.arange(len(users))[:, None], recs])
    truth = test.csr[users]
    assert res.metrics == pytest.approx(ranking_metrics(recs, truth, k=10, n_items=60))
    assert res.n_users == len(users) and res.n_test_unknown == 0
    assert 0 < res.metrics["ndcg@10"] <= 1


def test_no_evaluable_users_gives_nan_not_missing_keys(case) -> None:
    model, train, _ = case
    test = _inter([("nobody", "i2", 1)])
    res = evaluate_ranking(model, train, test, k=5)
    assert res.n_users == 0 and res.n_test_unknown == 1
    assert math.isnan(res.metrics["ndcg@5"]) and res.metrics["coverage@5"] == 0.0
