"""Validation ranking metrics of a model mid-training, for per-epoch callbacks (and pruning)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions
from nextbuy.evaluation.metrics import pairs_in, ranking_metrics
from nextbuy.retrieval import topk


def ranking_snapshot(
    score: Callable[[np.ndarray], np.ndarray],
    seen: sp.csr_matrix,
    valid: Interactions,
    k: int = 10,
    max_users: int = 2000,
    batch_size: int = 1024,
) -> dict[str, float]:
    """``valid_<metric>@k`` of a model mid-training, for ``Recommender.callback``.

    ``score(users)`` gives dense score rows; ``seen`` (the training CSR) is excluded as in the
    evaluation. At most ``max_users`` users with validation items are scored (a fixed, seeded
    sample), so a snapshot costs a bounded fraction of an epoch on large data.
    """
    users, items = valid.users.astype(np.int64), valid.items.astype(np.int64)
    keep = ~pairs_in(seen, users, items)
    truth = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (users[keep], items[keep])),
        shape=seen.shape,
    )
    truth.sum_duplicates()
    eval_users = np.flatnonzero(np.diff(truth.indptr))
    if len(eval_users) > max_users:
        rng = np.random.default_rng(0)
        eval_users = np.sort(rng.choice(eval_users, max_users, replace=False))
    recs = np.empty((len(eval_users), k), dtype=np.int32)
    for start in range(0, len(eval_users), batch_size):
        batch = eval_users[start : start + batch_size]
        scores = np.array(score(batch), dtype=np.float32)
        r, c = seen[batch].nonzero()
        scores[r, c] = -np.inf
        recs[start : start + len(batch)] = topk(scores, k)[0]
    metrics = ranking_metrics(recs, truth[eval_users], k=k, n_items=seen.shape[1])
    return {f"valid_{name}": float(value) for name, value in metrics.items()}
