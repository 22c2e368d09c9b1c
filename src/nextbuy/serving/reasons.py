"""Explanations for answers: which of the user's past items pushed each recommended item up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from nextbuy.models.capabilities import Explains
from nextbuy.models.registry import names_with

if TYPE_CHECKING:
    from nextbuy.serving.snapshot import Snapshot

#: Past items named per recommended item.
N_REASONS = 3


def reasons(
    snapshot: Snapshot, history: sp.csr_matrix, ids: np.ndarray, n: int = N_REASONS
) -> tuple[list[list[dict[str, Any]]], str | None]:
    """Per item of ``ids``, up to ``n`` past items with the largest positive contribution.

    ``history`` is the user's row over the trained items (training data plus events since).
    New items score ``scores @ a`` (see :mod:`nextbuy.serving.catalog`), so their
    contributions are the same combination ``a`` of the trained items' contributions. Returns
    the lists and a note when nothing can be explained (model or empty history).
    """
    ids = np.asarray(ids, dtype=np.int64)
    empty: list[list[dict[str, Any]]] = [[] for _ in range(len(ids))]
    model = snapshot.model
    if not isinstance(model, Explains):
        return empty, (
            f"{model.name} does not break its scores down by past items; "
            f"explanations need one of {', '.join(names_with(Explains))}"
        )
    if history.nnz == 0 or len(ids) == 0:
        return empty, "no past items to explain from" if len(ids) else None
    n_trained = snapshot.n_items
    contrib = np.zeros((len(ids), history.nnz), dtype=np.float32)
    trained = ids < n_trained
    if trained.any():
        contrib[trained] = model.contributions(history, ids[trained])
    if (~trained).any() and snapshot.live is not None and snapshot.live.new_weights is not None:
        every = model.contributions(history, np.arange(n_trained))
        contrib[~trained] = snapshot.live.new_weights[ids[~trained] - n_trained] @ every
    width = min(n, history.nnz)
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :width]
    values = np.take_along_axis(contrib, order, axis=1)
    past = history.indices[order]
    names = snapshot.item_ids[past]
    out: list[list[dict[str, Any]]] = []
    for row_items, row_names, row_values in zip(
        past.tolist(), names.tolist(), np.round(values.astype(np.float64), 6).tolist(), strict=True
    ):  # k x n entries: the answer's own size
        out.append(
            [
                {"item_id": item_id, "name": snapshot.item_info[i]["name"], "contribution": v}
                for i, item_id, v in zip(row_items, row_names, row_values, strict=True)
                if v > 0
            ]
        )
    return out, None
