"""Why an item was recommended: each past item's contribution to its score (ALS, kNN, EASE)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nextbuy.models.base import Recommender
from nextbuy.models.weighting import weigh_rows

#: Models whose scores decompose over the user's history.
EXPLAINABLE = ("als", "itemknn", "ease", "spark_als", "spark_als_explicit")


def contributions(model: Recommender, history: sp.csr_matrix, items: np.ndarray) -> np.ndarray:
    """``[len(items), nnz(history)]``: how much each history item adds to each item's score.

    The columns follow ``history.indices``. For EASE and item-kNN the score is
    ``sum_j x_j W[j, i]``, so the contribution is ``x_j W[j, i]``. For ALS it is implicit's
    decomposition ``c_j v_i^T (V^T C_u V + reg I)^-1 v_j`` of the folded-in user factor.
    """
    row = sp.csr_matrix(history)
    items = np.asarray(items, dtype=np.int64)
    if row.nnz == 0 or len(items) == 0:
        return np.zeros((len(items), row.nnz), dtype=np.float32)
    hist = row.indices
    p = model.params
    if model.name in ("ease", "itemknn"):
        x = weigh_rows(row, p.get("weighting", "binary"), float(p.get("alpha", 1.0))).data
        weights = model.weights_ if model.name == "ease" else model.similarity_  # type: ignore[attr-defined]
        block = weights[hist][:, items]
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        return (x[:, None] * block).T.astype(np.float32)
    if model.name in ("spark_als", "spark_als_explicit"):  # Spark's own fold-in system
        return model.contributions(row, items)  # type: ignore[attr-defined]
    if model.name == "als":
        conf = model._confidence(row).data  # type: ignore[attr-defined]
        v = np.asarray(model.item_factors_, dtype=np.float64)  # type: ignore[attr-defined]
        vh = v[hist]
        gram = v.T @ v + (vh.T * (conf - 1.0)) @ vh
        gram[np.diag_indices_from(gram)] += float(p["regularization"])
        w = np.linalg.solve(gram, vh.T)  # (f, n_hist)
        return ((v[items] @ w) * conf[None, :]).astype(np.float32)
    raise ValueError(f"{model.name} does not decompose its scores; explainable: {EXPLAINABLE}")


def top_reasons(
    model: Recommender, history: sp.csr_matrix, items: np.ndarray, n: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """For each item, the ``n`` history items contributing most: (item indices, contributions).

    Padded with -1 / 0 when the history is shorter than ``n``.
    """
    contrib = contributions(model, history, items)
    hist = sp.csr_matrix(history).indices
    width = min(n, contrib.shape[1])
    out_ids = np.full((len(items), n), -1, dtype=np.int32)
    out_vals = np.zeros((len(items), n), dtype=np.float32)
    if width:
        order = np.argsort(-contrib, axis=1, kind="stable")[:, :width]
        out_ids[:, :width] = hist[order]
        out_vals[:, :width] = np.take_along_axis(contrib, order, axis=1)
    return out_ids, out_vals
