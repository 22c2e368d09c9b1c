"""Item-item models: ``score = weigh(history) @ W`` for a learned item x item matrix ``W``.

EASE (dense ``W``), item-kNN and RP3beta (sparse, pruned ``W``) share the scoring here: any
history, including a new user's, is scored without refitting, and empty histories get item
popularity. Because the score is a sum over past items, it splits into per-item
contributions (:meth:`ItemItemModel._history_contributions`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from nextbuy.models.base import Recommender, State
from nextbuy.models.common import fill_rows, one_row, pad_neighbours, rows_of
from nextbuy.models.weighting import decayed
from nextbuy.retrieval import topk


class ItemItemModel(Recommender):
    """Scores ``x @ W`` where ``x`` is the (weighted) history row; see the module docstring.

    ``W`` is the sparse ``similarity_`` (item-kNN, RP3beta), whose rows are also each item's
    stored neighbours; EASE supplies its dense weights instead.
    """

    state_attributes: ClassVar[tuple[str, ...]] = ("similarity", "popularity")
    similarity_: sp.csr_matrix  # items x items, the top entries of each row
    popularity_: np.ndarray  # share of users per item: the scores of empty histories
    #: Per-pair time decay of the training rows (``half_life_days``), or None when off.
    recency_: sp.csr_matrix | None = None

    def state(self) -> State:
        """The declared arrays, plus the training rows' decay when the model uses one."""
        out = super().state()
        if self.recency_ is not None:
            out["recency"] = self.recency_
        return out

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.recency_ = state.get("recency")

    def _item_weights(self) -> np.ndarray | sp.csr_matrix:
        """``W``: row ``j`` says how much having ``j`` in the history adds to each item."""
        return self.similarity_

    def similar_items(
        self, items: np.ndarray | list[int], k: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """The stored neighbours of each item (row of ``W``), largest first (-1 / -inf padded)."""
        return stored_neighbours(self.similarity_, items, k)

    def _weigh(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        """History values as the model multiplies them (binary unless a model says otherwise)."""
        out = sp.csr_matrix(rows, dtype=np.float32, copy=True)
        out.data[:] = 1.0
        return out

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        rows = self._training_rows(users)
        if self.recency_ is None:
            return self._score_rows(rows)
        return self._score_weighted(decayed(self._weigh(rows), rows_of(self.recency_, users)))

    def _score_histories(self, users: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
        return self._score_rows(rows)

    def _score_rows(self, rows: sp.csr_matrix) -> np.ndarray:
        """``weigh(rows) @ W``; popularity for empty rows."""
        return self._score_weighted(self._weigh(rows))

    def _score_weighted(self, x: sp.csr_matrix) -> np.ndarray:
        """``x @ W`` for already weighted rows ``x``; popularity for empty rows."""
        product = x @ self._item_weights()
        scores = product.toarray() if sp.issparse(product) else np.asarray(product)
        scores = scores.astype(np.float32, copy=False)
        return fill_rows(scores, np.diff(x.indptr) == 0, self.popularity_)

    def _history_contributions(self, history: sp.spmatrix, items: np.ndarray) -> np.ndarray:
        """``[len(items), nnz(history)]``: ``x_j W[j, i]``, columns in ``history.indices`` order.

        Each item's row sums to its score (for a non-empty history).
        """
        row = one_row(history, self.n_items_)
        items = np.asarray(items, dtype=np.int64).ravel()
        if row.nnz == 0 or len(items) == 0:
            return np.zeros((len(items), row.nnz), dtype=np.float32)
        x = self._weigh(row).data
        block = self._item_weights()[row.indices][:, items]
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        return (x[:, None] * block).T.astype(np.float32)


def stored_neighbours(
    weights: sp.csr_matrix, items: np.ndarray | list[int], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The stored (positive) entries of each item's row of ``weights``, largest first, padded."""
    items = np.asarray(items, dtype=np.int64).ravel()
    n_items = weights.shape[0]
    valid = (items >= 0) & (items < n_items)
    rows = weights[np.where(valid, items, 0)].toarray()
    rows[rows <= 0] = -np.inf  # not a stored neighbour
    return pad_neighbours(*topk(rows, min(k, n_items)), k, valid)
