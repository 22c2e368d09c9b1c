"""The contract every Recommender meets, run on a tiny two-block matrix with known answers."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models import registry
from nextbuy.models.base import Recommender

#: Users 0-9 and items 0-5 form block A, users 10-19 and items 6-11 block B; user 20 is empty.
BLOCK_USERS, BLOCK_ITEMS = 10, 6
N_USERS, N_ITEMS = 2 * BLOCK_USERS + 1, 2 * BLOCK_ITEMS
EMPTY_USER = N_USERS - 1


def block_of_user(user: int) -> int:
    return user // BLOCK_USERS


def block_of_item(item: np.ndarray | int) -> np.ndarray:
    return np.asarray(item) // BLOCK_ITEMS


def held_out(user: int) -> int:
    """The one item of their own block that ``user`` has not interacted with."""
    return block_of_user(user) * BLOCK_ITEMS + user % BLOCK_ITEMS


def block_matrix(explicit: bool = False) -> sp.csr_matrix:
    """Every user has all own-block items but one (``held_out``), values 1..3 (implicit).

    Explicit data rates own-block items 4 or 5 and two items of the other block 1, so that a
    rating model can learn the blocks (and the low ratings are among the seen items).
    """
    rows, cols, vals = [], [], []
    for u in range(2 * BLOCK_USERS):
        block = block_of_user(u)
        for j in range(BLOCK_ITEMS):
            item = block * BLOCK_ITEMS + j
            if item == held_out(u):
                continue
            rows.append(u)
            cols.append(item)
            vals.append(4.0 + (u + j) % 2 if explicit else 1.0 + (u * j) % 3)
        if explicit:
            other = (1 - block) * BLOCK_ITEMS
            for j in (u % BLOCK_ITEMS, (u + 3) % BLOCK_ITEMS):
                rows.append(u)
                cols.append(other + j)
                vals.append(1.0)
    return sp.csr_matrix((vals, (rows, cols)), shape=(N_USERS, N_ITEMS), dtype=np.float32)


def block_interactions(explicit: bool = False) -> Interactions:
    return Interactions.from_csr(block_matrix(explicit), explicit=explicit)


def assert_sorted_desc(scores: np.ndarray) -> None:
    """Finite scores descend along each row and every -inf comes after them."""
    finite = np.isfinite(scores)
    assert not (~finite[:, :-1] & finite[:, 1:]).any(), "a -inf slot precedes a real one"
    s = np.where(finite, scores, np.nanmin(np.where(finite, scores, np.inf)) - 1)
    assert (np.diff(s, axis=1) <= 1e-6).all(), scores


class RecommenderContract:
    """Mix into ``class TestX(RecommenderContract)`` and implement :meth:`make_model`."""

    #: Whether the model knows the blocks (popularity does not).
    personalized: ClassVar[bool] = True
    #: Whether the model learns from ratings (uses the explicit variant of the data).
    explicit: ClassVar[bool] = False

    def make_model(self) -> Recommender:
        raise TypeError(f"{type(self).__name__} must define make_model()")

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture(scope="class")
    @classmethod
    def train(cls) -> Interactions:
        return block_interactions(cls.explicit)

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls, train: Interactions) -> Recommender:
        return cls().make_model().fit(train)

    # ------------------------------------------------------------------ construction
    def test_fit_returns_self(self, train: Interactions) -> None:
        model = self.make_model()
        assert model.fit(train) is model
        assert (model.n_users_, model.n_items_) == (N_USERS, N_ITEMS)

    def test_params_round_trip_through_registry(self, model: Recommender) -> None:
        params = model.get_params()
        assert set(params) == set(type(model).defaults)
        again = registry.create(model.name, **params)
        assert type(again) is type(model) and again.get_params() == params

    def test_unknown_param_is_config_error(self, model: Recommender) -> None:
        with pytest.raises(ConfigError, match="no_such_param"):
            registry.create(model.name, no_such_param=1)

    def test_set_params_validates_and_returns_self(self) -> None:
        model = self.make_model()
        params = model.get_params()
        name = next(iter(params))
        assert model.set_params(**{name: params[name]}) is model
        assert model.get_params() == params
        with pytest.raises(ConfigError, match="no_such_param"):
            model.set_params(no_such_param=1)
        assert model.get_params() == params  # a refused change changes nothing

    def test_registered(self, model: Recommender) -> None:
        assert model.name in registry.available()
        assert registry.get(model.name) is type(model)

    # ------------------------------------------------------------------ recommend
    def test_recommend_shapes_one_and_batch(self, model: Recommender) -> None:
        for users in ([3], np.arange(N_USERS)):
            ids, scores = model.recommend(users, k=4, exclude_seen=False)
            assert ids.shape == scores.shape == (len(users), 4)
            assert ids.dtype == np.int32 and scores.dtype == np.float32
            assert ((ids >= 0) & (ids < N_ITEMS)).all()
            assert np.isfinite(scores).all()
            assert_sorted_desc(scores)
            assert all(len(set(row)) == 4 for row in ids)

    def test_batch_equals_one_by_one(self, model: Recommender) -> None:
        users = np.arange(N_USERS)
        ids, scores = model.recommend(users, k=3, exclude_seen=False, batch_size=4)
        for u in (0, 7, 15, EMPTY_USER):
            one_ids, one_scores = model.recommend([u], k=3, exclude_seen=False)
            np.testing.assert_allclose(one_scores[0], scores[u], rtol=1e-5, atol=1e-6)
            if len(set(np.round(one_scores[0], 5))) == 3:  # ties may order either way
                assert np.array_equal(one_ids[0], ids[u])

    def test_seen_items_excluded(self, model: Recommender, train: Interactions) -> None:
        users = np.arange(N_USERS)
        ids, scores = model.recommend(users, k=5)  # exclude_seen by default
        seen = train.csr
        for u in users:
            assert not set(ids[u][ids[u] >= 0]) & set(seen[u].indices)

    def test_candidates_restrict_and_pad(self, model: Recommender) -> None:
        cand = np.array([0, 7, 11])
        ids, scores = model.recommend(np.arange(N_USERS), k=5, exclude_seen=False, items=cand)
        assert set(ids[:, :3].ravel()) <= set(cand)
        assert (ids[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()

    def test_k_beyond_items_left_pads(self, model: Recommender, train: Interactions) -> None:
        users = np.arange(N_USERS)
        ids, scores = model.recommend(users, k=N_ITEMS + 2)
        left = N_ITEMS - np.diff(train.csr.indptr)
        for u in users:
            assert (ids[u, : left[u]] >= 0).all() and np.isfinite(scores[u, : left[u]]).all()
            assert (ids[u, left[u] :] == -1).all() and np.isneginf(scores[u, left[u] :]).all()
        assert_sorted_desc(scores)

    def test_unknown_and_empty_users_get_valid_lists(self, model: Recommender) -> None:
        ids, scores = model.recommend([-1, N_USERS + 5, EMPTY_USER], k=5, exclude_seen=False)
        assert ((ids >= 0) & (ids < N_ITEMS)).all()
        assert np.isfinite(scores).all()
        assert all(len(set(row)) == 5 for row in ids)

    def test_own_block_first(self, model: Recommender, train: Interactions) -> None:
        if not self.personalized:
            pytest.skip("not a personalized model")
        users = np.arange(2 * BLOCK_USERS)
        ids, _ = model.recommend(users, k=1)
        assert np.array_equal(ids[:, 0], [held_out(u) for u in users])
        top, _ = model.recommend(users, k=BLOCK_ITEMS, exclude_seen=False)
        own = block_of_item(top) == (users // BLOCK_USERS)[:, None]
        assert own.mean() >= 0.95, top

    def test_new_user_from_history(self, model: Recommender) -> None:
        """A new user whose history rows are given is scored from them (fold-in)."""
        if not self.personalized:
            pytest.skip("not a personalized model")
        value = 5.0 if self.explicit else 1.0
        history = sp.csr_matrix(
            ([value] * 3, ([0, 0, 0], [7, 8, 9])), shape=(1, N_ITEMS), dtype=np.float32
        )
        ids, scores = model.recommend([-1], k=3, user_items=history, recalculate_user=True)
        assert (block_of_item(ids[0]) == 1).all(), (ids, scores)
        empty = sp.csr_matrix((1, N_ITEMS), dtype=np.float32)
        ids, scores = model.recommend([-1], k=3, user_items=empty, recalculate_user=True)
        assert (ids >= 0).all() and np.isfinite(scores).all()

    def test_history_rows_score_only_when_asked(
        self, model: Recommender, train: Interactions
    ) -> None:
        """Rows without ``recalculate_user`` only say what was seen (implicit's semantics)."""
        users = np.array([0, 12])
        rows = train.csr[users]
        with pytest.raises(ValueError, match="recalculate_user"):
            model.score(users, rows)
        with pytest.raises(ValueError, match="user_items"):
            model.recommend(users, k=3, recalculate_user=True)
        ids, scores = model.recommend(users, k=3, user_items=rows)
        want_ids, want_scores = model.recommend(users, k=3)
        np.testing.assert_allclose(scores, want_scores, rtol=1e-6)
        blocked = want_ids[:, 0]
        ids, _ = model.recommend(users, k=3, exclude=blocked)
        assert not set(ids.ravel()) & set(blocked)

    # ------------------------------------------------------------------ similar items
    def test_similar_items(self, model: Recommender) -> None:
        items = np.arange(N_ITEMS)
        ids, scores = model.similar_items(items, k=3)
        assert ids.shape == scores.shape == (N_ITEMS, 3)
        assert ids.dtype == np.int32 and scores.dtype == np.float32
        assert (ids != items[:, None]).all()
        assert_sorted_desc(scores)
        if self.personalized:
            assert (block_of_item(ids[:, 0]) == block_of_item(items)).all(), ids

    def test_similar_items_unknown_and_large_k(self, model: Recommender) -> None:
        ids, scores = model.similar_items([-1, N_ITEMS, 0], k=N_ITEMS + 3)
        assert ids.shape == (3, N_ITEMS + 3)
        assert (ids[:2] == -1).all() and np.isneginf(scores[:2]).all()
        assert (ids[2, N_ITEMS - 1 :] == -1).all()
        assert 0 not in ids[2]

    # ------------------------------------------------------------------ predict
    def test_predict(self, model: Recommender, train: Interactions) -> None:
        users = np.array([0, 1, 15, -1, 0, N_USERS + 3])
        items = np.array([0, 7, 8, 1, -1, 2])
        pred = model.predict(users, items)
        assert pred.shape == (6,) and pred.dtype == np.float32
        assert np.isfinite(pred[:3]).all()
        if model.predicts_ratings:
            low, high = train.rating_range
            assert np.isfinite(pred).all()
            assert ((pred >= low) & (pred <= high)).all()
        else:
            assert np.isnan(pred[3:]).all()

    def test_predict_agrees_with_score(self, model: Recommender) -> None:
        users = np.array([0, 3, 12, 19, EMPTY_USER])
        items = np.array([1, 8, 8, 2, 5])
        support = getattr(model.config, "rank_support", 0.0)
        if support:  # ranking shrinks items by support; predict is the unshrunk rating
            model.set_params(rank_support=0.0)
        try:
            scores = model.score(users)[np.arange(5), items]
        finally:
            if support:
                model.set_params(rank_support=support)
        pred = model.predict(users, items)
        if model.predicts_ratings:
            scores = np.clip(scores, *model_range(model))
        np.testing.assert_allclose(pred, scores, rtol=1e-5, atol=1e-5)

    # ------------------------------------------------------------------ persistence
    def test_state_is_plain_arrays(self, model: Recommender) -> None:
        for key, value in model.state().items():
            assert isinstance(value, np.ndarray | sp.csr_matrix), key
            assert value.dtype != object, key

    def test_save_load_round_trip(
        self, model: Recommender, train: Interactions, tmp_path: Path
    ) -> None:
        model.save(tmp_path / "m")
        loaded = type(model).load(tmp_path / "m")
        assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
        users = np.array([0, 5, 11, EMPTY_USER, -1])
        for kwargs in ({"exclude_seen": False}, {}):
            ids0, sc0 = model.recommend(users, k=6, **kwargs)
            ids1, sc1 = loaded.recommend(users, k=6, **kwargs)
            assert np.array_equal(ids0, ids1)
            np.testing.assert_allclose(sc0, sc1, rtol=1e-6)
        pu, pi = np.array([0, 11, 3, -1]), np.array([2, 9, 10, 1])
        np.testing.assert_allclose(model.predict(pu, pi), loaded.predict(pu, pi), rtol=1e-6)
        s0 = model.similar_items([0, 6], k=3)
        s1 = loaded.similar_items([0, 6], k=3)
        np.testing.assert_allclose(s0[1], s1[1], rtol=1e-6)
        assert (loaded.user_items_ != train.csr).nnz == 0
        assert loaded.history_ == model.history_ or not model.history_


def model_range(model: Recommender) -> tuple[float, float]:
    """The rating range a rating model clips to."""
    return (float(model.rating_min_), float(model.rating_max_))  # type: ignore[attr-defined]
