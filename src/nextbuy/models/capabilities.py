"""What a model can do beyond scoring, as small protocols: ask ``isinstance(model, Explains)``.

Every model scores users (from the trained state, or from history rows with
``recalculate_user=True``), recommends, predicts and answers ``similar_items``; ``item_vectors()``
is None for models without item vectors (see :class:`~nextbuy.models.base.Recommender`).
The protocols here name the extra questions only some models answer.
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
        non-empty history each item's row sums to its score with ``recalculate_user=True``,
        less the item bias that is not the history's (ALS's popularity prior, ``item_prior()``).
        """
        ...


@runtime_checkable
class ReadsOrder(Protocol):
    """Sequence models (sasrec): a history row is read in its stored order, oldest first."""

    def sequence_of(self, user: int) -> np.ndarray:
        """The trained user's items, oldest first (item indices, int64)."""
        ...

    def score_sequences(self, sequences: list[np.ndarray]) -> np.ndarray:
        """Scores ``[n, n_items]`` of item-index sequences, oldest first."""
        ...
