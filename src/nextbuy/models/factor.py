"""Factor models served by numpy: ``score(u, i) = offset + b_u + b_i + x_u . y_i``.

:class:`FactorModel` holds the scoring that ALS, iALS and BPR share (user and item factors,
item popularity for users without factors); :class:`RatingFactorModel` adds the global mean,
biases and rating range of MF and BPMF. Subclasses fit, and say how a history row becomes a
user vector (:meth:`FactorModel.recalculate_user`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from nextbuy.models.base import Recommender, State
from nextbuy.models.common import fill_rows
from nextbuy.models.params import Hyperparameters

#: Training pairs read to measure a model's fit scale (an even stride over the stored pairs).
_SCALE_PAIRS = 200_000


def fit_scale(user_items: sp.csr_matrix, users: np.ndarray, items: np.ndarray) -> float:
    """Mean ``users[u] . items[i]`` over (up to ``_SCALE_PAIRS``) stored training pairs."""
    coo = sp.csr_matrix(user_items).tocoo()
    if coo.nnz == 0 or users.shape[1] == 0:
        return 0.0
    pick = np.linspace(0, coo.nnz - 1, min(coo.nnz, _SCALE_PAIRS)).astype(np.int64)
    rows, cols = coo.row[pick], coo.col[pick]
    inside = (rows < len(users)) & (cols < len(items))
    if not inside.any():
        return 0.0
    pairs = np.einsum("nf,nf->n", users[rows[inside]], items[cols[inside]], dtype=np.float64)
    return float(pairs.mean())


def dot_scores(users: np.ndarray, items: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``score(u) = U[u] @ V.T`` over factors mid-training (for validation snapshots)."""
    return lambda batch: users[batch] @ items.T


@dataclass(frozen=True)
class UserSide:
    """The user half of the score for a batch: vectors, optional bias, rows to fill."""

    vectors: np.ndarray  # [n, f]
    bias: np.ndarray | None  # [n] added to every item's score (rating models)
    fallback: np.ndarray  # [n] bool: rows scored by item popularity instead


@dataclass(frozen=True)
class DotProductForm:
    """A factor model's trained scores as one product ``users(u) @ items.T``.

    Biases and constants are folded into two extra columns (``[p_u, b_u + mu, 1]`` against
    ``[q_i, 1, b_i]``), so any engine that multiplies vectors (Spark, an ANN index) scores
    every factor model alike; rows flagged by ``users`` take ``fallback`` instead.
    """

    items: np.ndarray  # [n_items, d] float32
    users: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # -> ([n, d], fallback [n])
    fallback: np.ndarray  # [n_items] float32: the score row of users without vectors
    #: History rows (CSR over the trained items) folded in -> ([n, d], fallback [n]).
    histories: Callable[[sp.csr_matrix], tuple[np.ndarray, np.ndarray]] | None = None


class FactorModel(Recommender, ABC):
    """Scores ``U[u] @ V.T``; users without factors (unknown, or no training rows) get popularity.

    With ``recalculate_user=True`` a user's vector comes from their history row through
    :meth:`recalculate_user` (least squares against the fixed item factors, for most models).
    Derived arrays (e.g. ``V^T V``) are cached per item-factor array, so a one-user fold-in
    costs about as much as a plain score.
    """

    state_attributes: ClassVar[tuple[str, ...]] = ("user_factors", "item_factors", "popularity")
    #: Known users without training interactions are treated as unknown (their factor is ~0).
    empty_users_unknown: ClassVar[bool] = True

    user_factors_: np.ndarray  # [n_users, f]
    item_factors_: np.ndarray  # [n_items, f]
    popularity_: np.ndarray  # share of users per item: the scores of users without factors

    def __init__(self, config: Hyperparameters | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        self._cache: dict[str, tuple[tuple[np.ndarray, ...], np.ndarray]] = {}

    @abstractmethod
    def recalculate_user(self, user_items: sp.spmatrix) -> np.ndarray:
        """User vectors ``[n_rows, f]`` for history rows (raw values), item side fixed."""

    def _derived(
        self, key: str, sources: tuple[np.ndarray, ...], build: Callable[[], np.ndarray]
    ) -> np.ndarray:
        """``build()``, cached while ``sources`` are the very same arrays (refit, load: rebuilt)."""
        hit = self._cache.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], sources, strict=True)):
            return hit[1]
        value = build()
        self._cache[key] = (sources, value)  # holding the sources keeps their ids unique
        return value

    def _item_gram(self) -> np.ndarray:
        """``V^T V`` in float64, computed once per item-factor array."""

        def build() -> np.ndarray:
            v = np.asarray(self.item_factors_, dtype=np.float64)
            return v.T @ v

        return self._derived("gram", (self.item_factors_,), build)

    # ------------------------------------------------------------------ the two halves
    def _user_side(self, users: np.ndarray) -> UserSide:
        """Trained factors of ``users``; unknown ones (and, by default, empty ones) fall back."""
        known = (users >= 0) & (users < self.n_users_)
        safe = np.where(known, users, 0)
        if self.empty_users_unknown:
            assert self.user_items_ is not None
            known &= (self.user_items_.indptr[safe + 1] - self.user_items_.indptr[safe]) > 0
        return UserSide(np.asarray(self.user_factors_)[safe], None, ~known)

    def _history_side(self, users: np.ndarray, rows: sp.csr_matrix) -> UserSide:
        """Vectors recalculated from ``rows``; empty rows fall back to popularity."""
        empty = np.diff(rows.indptr) == 0
        return UserSide(self.recalculate_user(rows), None, empty)

    def _item_side(self, from_history: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Item factors (and biases) that user vectors are multiplied with."""
        return np.asarray(self.item_factors_), self.item_prior()

    def item_prior(self) -> np.ndarray | None:
        """``popularity_prior x fit scale x popularity / top popularity``; None when 0 or absent.

        An item bias (ALS, iALS): on sparse data it keeps the bestsellers' signal that the
        factors alone lose, while users with long histories outweigh it. The fit scale (mean
        score of a training pair) makes the weight independent of how large the scores run.
        """
        value = getattr(self.config, "popularity_prior", 0.0)
        # still "auto" only in models saved before the rule existed: they scored without it
        weight = 0.0 if value == "auto" else float(value)
        if weight <= 0.0 or self.user_items_ is None:
            return None
        popularity, seen = self.popularity_, self.user_items_

        def build() -> np.ndarray:
            pop = np.asarray(popularity, dtype=np.float32)
            top = float(pop.max()) if len(pop) else 0.0
            scale = fit_scale(seen, np.asarray(self.user_factors_), np.asarray(self.item_factors_))
            if top <= 0 or scale <= 0:
                return np.zeros_like(pop)
            return pop * np.float32(weight * scale / top)

        sources = (popularity, seen.indices, self.user_factors_, self.item_factors_)
        return self._derived(f"prior-{weight}", sources, build)

    # ------------------------------------------------------------------ scoring
    def _score_users(self, users: np.ndarray) -> np.ndarray:
        return self._scores(self._user_side(users), *self._item_side(False))

    def _score_histories(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        return self._scores(self._history_side(users, rows), *self._item_side(True))

    def _scores(self, side: UserSide, items: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        scores = (side.vectors @ items.T).astype(np.float32, copy=False)
        if bias is not None:
            scores += bias[None, :]
        if side.bias is not None:
            scores += side.bias[:, None]
        if side.fallback.any():
            fill_rows(scores, side.fallback, self.popularity_)
        return scores

    def fallback_scores(self) -> np.ndarray:
        """The score row of users without vectors (item popularity by default)."""
        return np.asarray(self.popularity_, dtype=np.float32)

    def dot_product_form(self) -> DotProductForm:
        """The trained scores as one dot product (see :class:`DotProductForm`)."""
        items, item_bias = self._item_side(False)
        items = np.asarray(items, dtype=np.float32)
        n = len(items)
        bias = np.zeros(n, np.float32) if item_bias is None else np.asarray(item_bias, np.float32)
        wide = np.hstack([items, np.ones((n, 1), np.float32), bias[:, None]])

        def wide_side(side: UserSide) -> tuple[np.ndarray, np.ndarray]:
            m = len(side.vectors)
            ub = np.zeros(m, np.float32) if side.bias is None else side.bias
            vec = np.hstack([side.vectors, np.asarray(ub, np.float32)[:, None], np.ones((m, 1))])
            return vec.astype(np.float32), np.asarray(side.fallback, dtype=bool)

        def users(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return wide_side(self._user_side(np.asarray(idx, dtype=np.int64)))

        def histories(rows: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
            users = np.full(rows.shape[0], -1, dtype=np.int64)
            return wide_side(self._history_side(users, sp.csr_matrix(rows)))

        # folded-in users must live in the same item space (BPMF's do not: no history form)
        folded, trained = (np.asarray(self._item_side(flag)[0]) for flag in (True, False))
        same_items = folded.shape == trained.shape and folded.ctypes.data == trained.ctypes.data
        return DotProductForm(
            wide, users, self.fallback_scores(), histories if same_items else None
        )

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``score`` at each pair without building full rows; NaN for unknown IDs."""
        users = np.asarray(users, dtype=np.int64).ravel()
        items = np.asarray(items, dtype=np.int64).ravel()
        out = np.full(len(users), np.nan, dtype=np.float32)
        ok = (users >= 0) & (users < self.n_users_) & (items >= 0) & (items < self.n_items_)
        side = self._user_side(users[ok])
        pair_items = items[ok]
        values = np.einsum("nf,nf->n", side.vectors, np.asarray(self.item_factors_)[pair_items])
        prior = self.item_prior()
        if prior is not None:
            values += prior[pair_items]
        if side.fallback.any():
            values[side.fallback] = np.asarray(self.popularity_)[pair_items[side.fallback]]
        out[ok] = values
        return out

    def item_vectors(self) -> np.ndarray:
        """The item factors (cosine similarity between them is ``similar_items``)."""
        return np.asarray(self.item_factors_)


class RatingFactorModel(FactorModel):
    """``r_ui = mu + b_u + b_i + p_u . q_i``; unknown users or items add nothing (baseline).

    ``predict`` clips to the training ratings' range; ``score`` does not (ranking only).
    """

    predicts_ratings = True
    state_attributes: ClassVar[tuple[str, ...]] = (
        "user_bias",
        "item_bias",
        "user_factors",
        "item_factors",
    )

    global_mean_: float
    user_bias_: np.ndarray
    item_bias_: np.ndarray
    rating_min_: float  # the training ratings' range: predict clips to it
    rating_max_: float

    def _offset(self) -> float:
        """Constant part of every prediction (``mu``, plus what the model folds into it)."""
        return float(self.global_mean_)

    def _user_scale(self) -> np.ndarray | None:
        """Per-dimension scale applied to user vectors (MF's folded batch norm), or None."""
        return None

    def _scaled(self, vectors: np.ndarray) -> np.ndarray:
        scale = self._user_scale()
        return vectors if scale is None else vectors * np.asarray(scale)

    def _user_side(self, users: np.ndarray) -> UserSide:
        known = (users >= 0) & (users < self.n_users_)
        safe = np.where(known, users, 0)
        bias = np.where(known, np.asarray(self.user_bias_)[safe], 0.0).astype(np.float32)
        vectors = (np.asarray(self.user_factors_)[safe] * known[:, None]).astype(
            np.float32, copy=False
        )
        return UserSide(self._scaled(vectors), bias + self._offset(), np.zeros(len(users), bool))

    def _history_side(self, users: np.ndarray, rows: sp.csr_matrix) -> UserSide:
        """``[b_u, p_u]`` from :meth:`recalculate_user`; an empty row gives the baseline."""
        solved = self.recalculate_user(rows)
        return UserSide(
            self._scaled(solved[:, 1:]),
            solved[:, 0] + self._offset(),
            np.zeros(len(users), dtype=bool),
        )

    def _item_side(self, from_history: bool) -> tuple[np.ndarray, np.ndarray | None]:
        weight = self._support_weight()
        if weight is None:
            return np.asarray(self.item_factors_), np.asarray(self.item_bias_)
        return self._shrunk(self.item_factors_, weight), self._shrunk(self.item_bias_, weight)

    def _support_weight(self) -> np.ndarray | None:
        """Ranking weight ``n_i / (n_i + rank_support)`` per item; None without gating.

        Ranking (not ``predict``) shrinks each item's own part ``b_i + p_u . q_i`` toward the
        user's baseline by its number of training ratings, so a film with a few enthusiastic
        ratings cannot top everyone's list (Bayesian shrinkage by support).
        """
        support = float(getattr(self.config, "rank_support", 0.0))
        if support <= 0 or self.user_items_ is None:
            return None
        seen = self.user_items_

        def build() -> np.ndarray:
            counts = np.bincount(seen.indices, minlength=self.n_items_).astype(np.float32)
            return counts / (counts + np.float32(support))

        return self._derived(f"support-{support}", (seen.indices,), build)

    def _shrunk(self, values: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """``values`` (item rows) times the support ``weight``, cached per array."""

        def build() -> np.ndarray:
            arr = np.asarray(values, dtype=np.float32)
            return arr * (weight[:, None] if arr.ndim == 2 else weight)

        return self._derived(f"shrunk-{id(values)}", (values, weight), build)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Ratings per pair, clipped to the training range; unknown users/items add nothing."""
        users = np.asarray(users, dtype=np.int64).ravel()
        items = np.asarray(items, dtype=np.int64).ravel()
        side = self._user_side(users)
        assert side.bias is not None
        ki = (items >= 0) & (items < self.n_items_)
        si = np.where(ki, items, 0)
        qi = np.asarray(self.item_factors_)[si] * ki[:, None]
        pred = (
            side.bias
            + np.where(ki, np.asarray(self.item_bias_)[si], 0.0)
            + np.einsum("nf,nf->n", side.vectors, qi)
        )
        return np.clip(pred, self.rating_min_, self.rating_max_).astype(np.float32)

    def fallback_scores(self) -> np.ndarray:
        """Never used: every user, known or not, is scored from the biases (zeros)."""
        return np.zeros(self.n_items_, dtype=np.float32)

    def _ridge_design(self, items: np.ndarray) -> np.ndarray:
        """``[1, items]`` (float64): the fold-in design whose first column is the user bias."""
        return np.hstack([np.ones((len(items), 1)), np.asarray(items, dtype=np.float64)])

    # ------------------------------------------------------------------ persistence
    def state(self) -> State:
        return {
            "global_mean": np.array([self.global_mean_], dtype=np.float64),
            "rating_range": np.array([self.rating_min_, self.rating_max_], dtype=np.float64),
            **super().state(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.global_mean_ = float(state["global_mean"][0])
        self.rating_min_, self.rating_max_ = (float(x) for x in state["rating_range"])
        super().set_state(state)
