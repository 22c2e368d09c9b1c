"""Attribution: which served list led to an event, by the ``recommendation_id`` the client sent
back or, failing that, the latest list that showed the item to the user within a window."""

from __future__ import annotations

import pandas as pd

#: Default attribution window: an event up to 24 h after the list that showed the item.
DEFAULT_WINDOW_S = 24 * 3600


def attribute(
    impressions: pd.DataFrame, events: pd.DataFrame, window_s: float = DEFAULT_WINDOW_S
) -> pd.DataFrame:
    """Events joined to the list they came from: the event's columns plus ``recommendation_id``,
    ``variant`` and ``how`` ("id" or "window"); events no list explains are left out.

    ``impressions``: recommendation_id, variant, user_id, item_id, served_at (ms).
    ``events``: user_id, item_id, event, value, received_at (ms), recommendation_id (or None).
    """
    cols = ["recommendation_id", "variant", "user_id", "item_id"]
    if events.empty:  # nothing to attribute (merge_asof refuses the empty frame's dtypes)
        empty = pd.Series(dtype=object)
        return events.iloc[:0].assign(recommendation_id=empty, variant=empty, how=empty)
    shown = impressions[[*cols, "served_at"]].drop_duplicates(cols)
    ev = events.reset_index(drop=True).assign(_row=lambda f: range(len(f)))
    by_id = ev.dropna(subset=["recommendation_id"]).merge(
        shown[cols], on=["recommendation_id", "user_id", "item_id"], how="inner"
    )
    by_id["how"] = "id"
    rest = ev[~ev["_row"].isin(by_id["_row"])].drop(columns=["recommendation_id"])
    rest = rest.sort_values("received_at")
    lists = shown.sort_values("served_at")
    by_window = pd.merge_asof(
        rest, lists, left_on="received_at", right_on="served_at", by=["user_id", "item_id"],
        direction="backward", tolerance=int(window_s * 1000),
    ).dropna(subset=["recommendation_id"])  # fmt: skip
    by_window["how"] = "window"
    out = pd.concat([by_id, by_window.drop(columns=["served_at"])], ignore_index=True)
    return out.sort_values("_row").drop(columns=["_row"]).reset_index(drop=True)
