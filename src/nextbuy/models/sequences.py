"""Time-ordered item sequences from interactions and history rows (numpy only, vectorized).

Sequence models read each user's items oldest first, ties broken by item index (DESIGN's
protocol C rule), and score a fixed-length window of the latest ``max_len`` items, left
padded with 0 (items are stored as ``index + 1``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nextbuy.data.interactions import Interactions


def chronological(data: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Users and items of every row, sorted by user, then timestamp, then item index."""
    order = np.lexsort((data.items, data.timestamps, data.users))
    return data.users[order].astype(np.int64), data.items[order].astype(np.int64)


def order_matrix(data: Interactions) -> sp.csr_matrix:
    """CSR (users x items) holding each interaction's 1-based position in the user's sequence."""
    users, items = chronological(data)
    starts = np.searchsorted(users, users, side="left")
    position = (np.arange(len(users)) - starts + 1).astype(np.float32)
    return sp.csr_matrix((position, (users, items)), shape=data.shape, dtype=np.float32)


def window(users: np.ndarray, items: np.ndarray, n_rows: int, length: int) -> np.ndarray:
    """Padded ``[n_rows, length]`` int64 windows of each row's latest items (``item + 1``).

    ``users`` must be sorted (each row's items oldest first); rows without items stay all 0.
    """
    out = np.zeros((n_rows, length), dtype=np.int64)
    if len(users) == 0:
        return out
    ends = np.searchsorted(users, users, side="right")
    from_end = ends - 1 - np.arange(len(users))  # 0 = the latest item of its row
    keep = from_end < length
    out[users[keep], length - 1 - from_end[keep]] = items[keep] + 1
    return out


def rows_in_order(rows: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Row ids and items of history rows in each row's stored index order (oldest first).

    Serving builds session rows in that order (:func:`session_row`); a row built any other
    way reads in its index order, which a sequence model takes as is.
    """
    counts = np.diff(rows.indptr)
    row_ids = np.repeat(np.arange(rows.shape[0], dtype=np.int64), counts)
    return row_ids, rows.indices.astype(np.int64)


def session_row(items: np.ndarray, n_items: int) -> sp.csr_matrix:
    """One history row listing ``items`` (indices, oldest first) in that order, duplicates
    kept at their latest position, so :func:`rows_in_order` reads the session back."""
    items = np.asarray(items, dtype=np.int64)
    items = items[(items >= 0) & (items < n_items)]
    last = len(items) - 1 - np.unique(items[::-1], return_index=True)[1]
    items = items[np.sort(last)]
    data = np.ones(len(items), dtype=np.float32)
    indptr = np.array([0, len(items)], dtype=np.int64)
    row = sp.csr_matrix((data, items.astype(np.int32), indptr), shape=(1, n_items))
    row.has_sorted_indices = False
    return row
