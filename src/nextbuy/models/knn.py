"""Item-item k-nearest-neighbours: cosine similarities pruned to the top K, scored history @ S."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.models.common import popularity_share
from nextbuy.models.itemitem import ItemItemModel
from nextbuy.models.params import AtLeastOne, Auto, Hyperparameters, NonNegative, param
from nextbuy.models.weighting import decayed, recency, weigh_rows
from nextbuy.progress import progress_bar
from nextbuy.retrieval import topk

#: Dense similarity entries computed at once while fitting (float32): bounds memory to ~128 MiB.
_BLOCK_ENTRIES = 1 << 25


def cosine_topk(
    x: sp.csr_matrix, neighbors: int, shrinkage: float = 0.0, show_progress: bool = False
) -> sp.csr_matrix:
    """Items x items CSR: row ``i`` holds the ``neighbors`` most cosine-similar items to ``i``.

    ``sim(i, j) = x_i . x_j / (|x_i| |x_j| + shrinkage)`` over the item columns of ``x``
    (shrinkage damps similarities resting on few co-occurrences). The item itself and
    non-positive similarities are left out. Rows are computed in blocks of a sparse product;
    each block is pruned by a sort of its stored entries when it is sparse, or by
    ``argpartition`` on a dense array when most pairs co-occur, so memory stays bounded and
    no Python loop runs over items.
    """
    n_items = x.shape[1]
    x = sp.csr_matrix(x, dtype=np.float32)
    item_users = x.T.tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0), dtype=np.float32).ravel())
    k = max(0, min(int(neighbors), n_items - 1))
    block = max(1, _BLOCK_ENTRIES // max(n_items, 1))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    starts = range(0, n_items, block) if k > 0 else range(0)
    with progress_bar(len(starts), "item similarities", enabled=show_progress) as advance:
        for start in starts:
            stop = min(start + block, n_items)
            dots = sp.csr_matrix(item_users[start:stop] @ x)
            if dots.nnz > 0.25 * dots.shape[0] * n_items:
                parts.append(_dense_block(dots, start, norms, shrinkage, k))
            else:
                parts.append(_sparse_block(dots, start, norms, shrinkage, k))
            advance()
    if not parts:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    rows, cols, vals = (np.concatenate(p) for p in zip(*parts, strict=True))
    sim = sp.csr_matrix((vals, (rows, cols)), shape=(n_items, n_items), dtype=np.float32)
    sim.sort_indices()
    return sim


def _dense_block(
    dots: sp.csr_matrix, start: int, norms: np.ndarray, shrinkage: float, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-k (rows, cols, sims) of a block whose pairs mostly co-occur: dense argpartition."""
    n_rows = dots.shape[0]
    dense = dots.toarray()
    denom = norms[start : start + n_rows, None] * norms[None, :] + np.float32(shrinkage)
    sims = np.divide(dense, denom, out=np.zeros_like(dense), where=denom > 0)
    local = np.arange(n_rows)
    sims[local, start + local] = 0.0  # an item is not its own neighbour
    ids, top = topk(sims, k)
    keep = top > 0
    return np.repeat(start + local, ids.shape[1])[keep.ravel()], ids[keep], top[keep]


def _sparse_block(
    dots: sp.csr_matrix, start: int, norms: np.ndarray, shrinkage: float, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-k (rows, cols, sims) of a sparse block: one sort of its stored entries."""
    rows = np.repeat(np.arange(dots.shape[0]), np.diff(dots.indptr)) + start
    cols = dots.indices
    denom = norms[rows] * norms[cols] + np.float32(shrinkage)
    sims = np.divide(dots.data, denom, out=np.zeros_like(dots.data), where=denom > 0)
    ok = (sims > 0) & (rows != cols)
    rows, cols, sims = rows[ok], cols[ok], sims[ok]
    # Sort by row, then by similarity descending (sims are in (0, 1]), in one float sort;
    # an entry's rank in its row is then its position minus the row's first position.
    order = np.argsort(rows * 4.0 + (2.0 - sims), kind="stable")
    rows, cols, sims = rows[order], cols[order], sims[order]
    first = np.searchsorted(rows, rows, side="left")
    keep = np.arange(len(rows)) - first < k
    return rows[keep], cols[keep], sims[keep]


class ItemKNNConfig(Hyperparameters):
    """Hyper-parameters of :class:`ItemKNN`."""

    neighbors: AtLeastOne | Auto = param(
        "auto", "similar items kept per item (K); auto = 10 x sparsity, in 10..500"
    )
    shrinkage: NonNegative | Auto = param(
        "auto", "added to the cosine denominator; auto = 25 x sparsity"
    )
    weighting: Literal["binary", "linear", "log"] = param(
        "log", "binary, or 1 + alpha * linear/log value"
    )
    alpha: float = param(1.0, "slope of the linear/log weighting", ge=0)
    half_life_days: float = param(
        0.0, "time decay of interaction weights: half-life in days; 0 = off", ge=0
    )


class ItemKNN(ItemItemModel):
    """Item-based collaborative filtering (Sarwar et al. 2001; Deshpande and Karypis 2004).

    Each item keeps its ``neighbors`` most similar items; a user's score for item ``j`` is the
    sum of the similarities to ``j`` from the items in their history (``history @ S``), so new
    users are scored from their history rows (``recalculate_user=True``). Empty histories get
    item popularity.
    """

    name = "itemknn"
    config_class = ItemKNNConfig
    config: ItemKNNConfig

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Compute the pruned item-item cosine matrix."""
        cfg = self.config
        self.recency_ = recency(train, cfg.half_life_days)
        self.similarity_ = cosine_topk(
            decayed(self._weigh(train.csr), self.recency_),
            int(cfg.neighbors),
            float(cfg.shrinkage),
            show_progress=show_progress,
        )
        self.popularity_ = popularity_share(train.csr)

    def _weigh(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        return weigh_rows(rows, self.config.weighting, self.config.alpha)

    def contributions(self, history: sp.spmatrix, items: np.ndarray) -> np.ndarray:
        """``[len(items), nnz(history)]``: ``x_j S[j, i]`` per past item ``j`` (sums to score)."""
        return self._history_contributions(history, items)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: neighbourhood size, shrinkage and input weighting."""
        return {
            "neighbors": trial.suggest_int("neighbors", 10, 1000, log=True),
            "shrinkage": trial.suggest_float("shrinkage", 0.0, 100.0),
            "weighting": trial.suggest_categorical("weighting", ["binary", "log"]),
        }
