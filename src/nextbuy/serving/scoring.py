"""Scoring users against a snapshot: the one path from a user to a row of scores.

:func:`score_rows` is where serving calls the model to score users: single requests, the
coalesced ones, batches and users with events since training all go through it (a row is a
trained user's index, or an up-to-date history row that the model folds in). Its answer
covers every item, trained then new. :func:`resolve` builds a history row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from nextbuy.models.capabilities import ReadsOrder
from nextbuy.serving.catalog import extend_scores, item_indices
from nextbuy.serving.history import UserHistory
from nextbuy.serving.snapshot import Snapshot


def score_rows(snapshot: Snapshot, rows: np.ndarray | sp.csr_matrix) -> np.ndarray:
    """Writable float32 scores ``[n_rows, n_total]`` over every item, trained then new.

    ``rows`` is either an int array of trained users' indices (scored from training) or a
    CSR matrix of history rows over the trained items (users with events since training, or
    unknown to the model): factor models fold those in, EASE and kNN score the rows.
    """
    if not sp.issparse(rows):
        raw = snapshot.model.score(np.asarray(rows, dtype=np.int64))
    else:  # the model folds the rows in (user -1: nothing from training)
        users = np.full(rows.shape[0], -1, dtype=np.int64)
        raw = snapshot.model.score(users, rows, recalculate_user=True)
    return extend_scores(snapshot, writable(raw))


def writable(scores: np.ndarray) -> np.ndarray:
    """Scores as a float32 array a request may overwrite (copied only when it must be)."""
    scores = np.asarray(scores)
    if scores.dtype != np.float32 or not scores.flags.writeable:
        scores = scores.astype(np.float32)
    return scores


@dataclass(frozen=True)
class Resolved:
    """One user's history against one snapshot (item indices, not IDs)."""

    row: sp.csr_matrix  # 1 x n_trained: what the model scores (training row + new events)
    seen: np.ndarray  # int64 indices of every item interacted with (trained and new items)
    purchased: np.ndarray  # int64 indices bought since training


def resolve(history: UserHistory, snapshot: Snapshot, user: int) -> Resolved:
    """The history as item indices of ``snapshot``, merged with the user's training row.

    Cached on the record per snapshot (catalog changes make a new one), so a user's second
    request does no ID lookups.
    """
    cached = history.resolved
    if cached is not None and cached[0] == snapshot.serial:
        return cached[1]  # type: ignore[no-any-return]
    n = snapshot.n_items
    implicit_ids = list(history.implicit)
    rating_ids = list(history.ratings)
    implicit_idx = item_indices(snapshot, implicit_ids)
    rating_idx = item_indices(snapshot, rating_ids)
    if user >= 0:
        lo, hi = snapshot.seen_indptr[user], snapshot.seen_indptr[user + 1]
        train_idx = snapshot.seen_indices[lo:hi].astype(np.int64)
        train_val = np.asarray(snapshot.artifact.seen.data[lo:hi], dtype=np.float32)
    else:
        train_idx = np.empty(0, dtype=np.int64)
        train_val = np.empty(0, dtype=np.float32)
    if snapshot.predicts_ratings:  # ratings replace training ratings of the same item
        new_idx = rating_idx
        values = (rating[2] for rating in history.ratings.values())
        new_val = np.fromiter(values, np.float32, len(rating_ids))
        keep = (new_idx >= 0) & (new_idx < n)
        idx = np.concatenate([new_idx[keep], train_idx])
        val = np.concatenate([new_val[keep], train_val])
        idx, first = np.unique(idx, return_index=True)  # first occurrence = the new rating
        val = val[first]
    else:  # implicit strength adds up, as training aggregates it
        new_val = np.fromiter(history.implicit.values(), np.float32, len(implicit_ids))
        keep = (implicit_idx >= 0) & (implicit_idx < n)
        idx, inverse = np.unique(
            np.concatenate([train_idx, implicit_idx[keep]]), return_inverse=True
        )
        val = np.bincount(inverse, np.concatenate([train_val, new_val[keep]])).astype(np.float32)
    if isinstance(snapshot.model, ReadsOrder):  # sequence models: oldest first
        idx, val = _in_order(
            snapshot, user, implicit_idx[(implicit_idx >= 0) & (implicit_idx < n)], idx, val
        )
    row = sp.csr_matrix(
        (val, idx.astype(np.int32), np.array([0, len(idx)])), shape=(1, n), dtype=np.float32
    )
    seen = np.unique(np.concatenate([train_idx, implicit_idx, rating_idx]))
    seen = seen[seen >= 0]
    bought = item_indices(snapshot, list(history.purchased))
    resolved = Resolved(row, seen, bought[bought >= 0])
    history.resolved = (snapshot.serial, resolved)
    return resolved


def _in_order(
    snapshot: Snapshot, user: int, new: np.ndarray, idx: np.ndarray, val: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A sequence model's row order: training items oldest first, then the events since in
    arrival order, each item at its latest position (``idx`` sorted, ``val`` aligned)."""
    model = snapshot.model
    assert isinstance(model, ReadsOrder)
    past = model.sequence_of(user) if user >= 0 else np.empty(0, dtype=np.int64)
    items = np.concatenate([past, new]).astype(np.int64)
    last = len(items) - 1 - np.unique(items[::-1], return_index=True)[1]
    order = items[np.sort(last)]
    order = order[np.isin(order, idx)]
    return order, val[np.searchsorted(idx, order)]
