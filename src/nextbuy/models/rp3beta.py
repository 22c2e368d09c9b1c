"""RP3beta: three-step random-walk item similarities, popularity-penalized (Paudel et al. 2017)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.models.common import popularity_share
from nextbuy.models.itemitem import ItemItemModel
from nextbuy.models.params import AtLeastOne, Auto, Hyperparameters, Positive, param
from nextbuy.progress import progress_bar
from nextbuy.retrieval import topk

#: Dense similarity entries computed at once while fitting (float32): bounds memory to ~128 MiB.
_BLOCK_ENTRIES = 1 << 25


def rp3beta_weights(
    x: sp.csr_matrix,
    alpha: float,
    beta: float,
    neighbors: int,
    normalize: bool,
    show_progress: bool = False,
) -> sp.csr_matrix:
    """Items x items CSR: ``W[i, j] = (P_iu^a P_ui^a)[i, j] / pop_j^beta``, top ``neighbors``.

    ``P_ui`` is the user -> item transition matrix of the bipartite graph (rows of the binary
    ``x`` normalised to sum 1) and ``P_iu`` the item -> user one; ``^a`` is element-wise. The
    walk item -> user -> item favours popular targets, which ``pop_j^-beta`` undoes. Each row
    keeps its ``neighbors`` largest entries (the item itself excluded), optionally L1-normalised.
    Rows are computed in dense blocks, so memory stays bounded for large catalogues.
    """
    x = sp.csr_matrix(x, dtype=np.float32, copy=True)
    x.data[:] = 1.0
    n_items = x.shape[1]
    user_deg = np.maximum(np.diff(x.indptr), 1).astype(np.float32)
    pop = np.bincount(x.indices, minlength=n_items).astype(np.float32)
    p_ui = sp.csr_matrix(sp.diags(1.0 / user_deg) @ x)
    p_iu = sp.csr_matrix(sp.diags(1.0 / np.maximum(pop, 1.0)) @ x.T)
    p_ui.data **= np.float32(alpha)
    p_iu.data **= np.float32(alpha)
    penalty = np.power(np.maximum(pop, 1.0), -np.float32(beta)).astype(np.float32)
    k = max(0, min(int(neighbors), n_items - 1))
    block = max(1, _BLOCK_ENTRIES // max(n_items, 1))
    rows_out, cols_out, vals_out = [], [], []
    starts = range(0, n_items, block) if k > 0 else range(0)
    with progress_bar(len(starts), "RP3beta", enabled=show_progress) as advance:
        for start in starts:
            stop = min(start + block, n_items)
            dense = (p_iu[start:stop] @ p_ui).toarray() * penalty[None, :]
            local = np.arange(stop - start)
            dense[local, start + local] = 0.0
            ids, top = topk(dense, k)
            keep = top > 0
            rows_out.append(np.repeat(start + local, ids.shape[1])[keep.ravel()])
            cols_out.append(ids[keep])
            vals_out.append(top[keep])
            advance()
    if not rows_out:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    w = sp.csr_matrix(
        (np.concatenate(vals_out), (np.concatenate(rows_out), np.concatenate(cols_out))),
        shape=(n_items, n_items),
        dtype=np.float32,
    )
    if normalize:
        sums = np.asarray(w.sum(axis=1), dtype=np.float32).ravel()
        w = sp.csr_matrix(sp.diags(1.0 / np.maximum(sums, 1e-12)) @ w)
    w.sort_indices()
    return w


class RP3betaConfig(Hyperparameters):
    """Hyper-parameters of :class:`RP3beta`."""

    alpha: Positive | Auto = param(
        "auto", "exponent of the walk's transition probabilities; auto = 0.95 / sqrt(sparsity)"
    )
    beta: float | Auto = param(
        "auto", "popularity penalty (popularity ** beta); auto = 0.63 - 0.35 ln(sparsity)"
    )
    neighbors: AtLeastOne | Auto = param(
        "auto", "items kept per item (top-K); auto = 214, below the catalogue"
    )
    normalize: bool = param(True, "L1-normalise each item's row after pruning")


class RP3beta(ItemItemModel):
    """Graph-based item-to-item model: a user's score for ``j`` is ``sum_(i in history) W[i, j]``.

    A strong, cheap baseline in Dacrema et al.'s reproducibility study ("Are we really making
    much progress?", 2019). The history is binary. New users are scored from their history
    rows; empty histories get item popularity. ``similar_items`` returns each item's stored
    neighbours.
    """

    name = "rp3beta"
    config_class = RP3betaConfig
    config: RP3betaConfig

    def _fit(self, train: Interactions, valid: Interactions | None, show_progress: bool) -> None:
        """Compute the pruned random-walk similarity matrix."""
        cfg = self.config
        self.similarity_ = rp3beta_weights(
            train.csr,
            float(cfg.alpha),
            float(cfg.beta),
            int(cfg.neighbors),
            cfg.normalize,
            show_progress=show_progress,
        )
        self.popularity_ = popularity_share(train.csr)

    @staticmethod
    def search_space(trial: Any) -> dict[str, Any]:
        """Optuna space: walk exponent, popularity penalty, neighbourhood size."""
        return {
            "alpha": trial.suggest_float("alpha", 0.2, 1.5),
            "beta": trial.suggest_float("beta", 0.0, 0.8),
            "neighbors": trial.suggest_int("neighbors", 20, 1000, log=True),
            "normalize": trial.suggest_categorical("normalize", [True, False]),
        }
