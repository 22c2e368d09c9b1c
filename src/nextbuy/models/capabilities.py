"""What a model can do beyond scoring, as small protocols: ask ``isinstance(model, Explains)``.

Every model scores users, recommends, predicts and answers ``similar_items`` (see
:class:`~nextbuy.models.base.Recommender`); these say which extra questions it answers.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp


@runtime_checkable
class Explains(Protocol):
    """Scores that split exactly over the user's past items (ALS, item-kNN, EASE)."""

    def contributions(self, history: sp.spmatrix, items: np.ndarray) -> np.ndarray:
        """``[len(items), nnz(history)]`` float32: each past item's share of each item's score.

        ``history`` is one user's 1 x n_items row (columns follow ``history.indices``); for a
        non-empty history each item's row sums to its score with ``recalculate_user=True``.
        """
        ...


@runtime_checkable
class FoldsIn(Protocol):
    """Factor models: a history row becomes a user vector against the fixed item factors."""

    def recalculate_user(self, user_items: sp.spmatrix) -> np.ndarray:
        """User vectors ``[n_rows, f]`` for history rows (raw values, new users too)."""
        ...
