"""Filters on interaction frames: minimum counts per user and item, and k-cores."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nextbuy.errors import DataError


def filter_min_counts(
    frame: pd.DataFrame, min_user: int = 1, min_item: int = 1, kcore: bool = False
) -> pd.DataFrame:
    """Keep rows of users with >= ``min_user`` distinct items and items with >= ``min_item``
    distinct users.

    Without ``kcore`` both counts are taken once on the input. With ``kcore`` the filter
    repeats until nothing changes, so every remaining user and item meets its minimum in
    the result (dropping an item can push a user under the minimum, and so on).
    """
    for col in ("user_id", "item_id"):
        if col not in frame.columns:
            raise DataError(f"filter: missing column {col!r} (found: {', '.join(frame.columns)})")
    if len(frame) == 0 or (min_user <= 1 and min_item <= 1):
        return frame.reset_index(drop=True)
    u_codes, u_uniques = pd.factorize(frame["user_id"])
    i_codes, i_uniques = pd.factorize(frame["item_id"])
    n_users, n_items = len(u_uniques), len(i_uniques)
    pairs = np.unique(u_codes.astype(np.int64) * n_items + i_codes)
    pu, pi = pairs // n_items, pairs % n_items
    user_ok = np.ones(n_users, dtype=bool)
    item_ok = np.ones(n_items, dtype=bool)
    while True:  # each pass is vectorized; k-core passes shrink the graph until stable
        live = user_ok[pu] & item_ok[pi]
        new_user = user_ok & (np.bincount(pu[live], minlength=n_users) >= min_user)
        new_item = item_ok & (np.bincount(pi[live], minlength=n_items) >= min_item)
        stable = np.array_equal(new_user, user_ok) and np.array_equal(new_item, item_ok)
        user_ok, item_ok = new_user, new_item
        if stable or not kcore:
            break
    keep = user_ok[u_codes] & item_ok[i_codes]
    return frame.loc[keep].reset_index(drop=True)
