"""Scoring users from their up-to-date history rows, with per-model work done once per load.

Every model scores a history row through ``model.score(users, user_items=rows)`` (factor models
fold the user in by least squares against the fixed item factors; EASE and item-kNN multiply
the row). For ALS that call rebuilds ``V^T V`` (items x factors^2 flops, 3-4 ms at 20k items)
on every request; :class:`FoldIn` keeps it from the load on, which makes a fold-in cost about
as much as a plain score. The shortcut is checked against the model's own answer at load and
dropped if they ever disagree.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from nextbuy.models.base import Recommender
from nextbuy.models.foldin import ridge_fold_in
from nextbuy.models.popularity import fill_rows
from nextbuy.models.weighting import weigh_rows

logger = logging.getLogger("nextbuy.serving")


class FoldIn:
    """``scores(rows)``: dense scores over the trained items for history rows (new users too)."""

    def __init__(self, model: Recommender) -> None:
        self.model = model
        self._gram: np.ndarray | None = None
        self._vectors: np.ndarray | None = None
        if model.name == "als" and hasattr(model, "item_factors_"):
            try:
                self._prepare_als()
            except Exception:  # never fail a load over a shortcut
                logger.exception("ALS fold-in shortcut disabled")
                self._gram = None

    def scores(self, rows: sp.csr_matrix) -> np.ndarray:
        """Float32 ``[n_rows, n_items]`` scores of users whose histories are ``rows``."""
        if self._gram is not None:
            return self._als_scores(rows)
        users = np.full(rows.shape[0], -1, dtype=np.int64)  # -1: always score from the rows
        return np.asarray(self.model.score(users, user_items=rows), dtype=np.float32)

    # ------------------------------------------------------------------ ALS with a cached Gram
    def _prepare_als(self) -> None:
        factors = np.asarray(self.model.item_factors_, dtype=np.float64)  # type: ignore[attr-defined]
        self._vectors = factors
        self._gram = factors.T @ factors
        n = factors.shape[0]
        rng = np.random.default_rng(0)
        cols = np.sort(rng.choice(n, size=min(5, n), replace=False)).astype(np.int32)
        probe = sp.csr_matrix(
            (np.full(len(cols), 2.0, np.float32), cols, np.array([0, len(cols)])), shape=(1, n)
        )
        mine = self._als_scores(probe)
        theirs = np.asarray(self.model.score(np.array([-1]), user_items=probe), np.float32)
        if not np.allclose(mine, theirs, rtol=1e-3, atol=1e-4):
            logger.warning("ALS fold-in shortcut disagrees with the model; using the model")
            self._gram = None

    def _als_scores(self, rows: sp.csr_matrix) -> np.ndarray:
        """implicit's ``recalculate_user``: ``(V^T V + V^T (C_u - I) V + reg I)^-1 V^T C_u p_u``."""
        model = self.model
        p = model.params
        assert self._vectors is not None and self._gram is not None
        conf = weigh_rows(rows, p["weighting"], float(p["alpha"]))
        reg = float(p["regularization"])
        if conf.shape[0] == 1:  # one user (every /recommend): small dense algebra, no sparse setup
            v = self._vectors[conf.indices]
            c = conf.data.astype(np.float64)
            gram = self._gram + (v.T * (c - 1.0)) @ v
            gram[np.diag_indices_from(gram)] += reg
            users = np.linalg.solve(gram, v.T @ c)[None, :].astype(np.float32)
        else:
            users = ridge_fold_in(
                conf,
                self._vectors,
                gram_weights=conf.data - 1.0,
                targets=conf.data,
                reg=reg,
                base_gram=self._gram,
            )
        scores = users @ np.asarray(model.item_factors_).T  # type: ignore[attr-defined]
        empty = np.diff(conf.indptr) == 0
        return fill_rows(scores.astype(np.float32, copy=False), empty, model.popularity_)  # type: ignore[attr-defined]
