"""Summary statistics of a Dataset: size, sparsity, activity, popularity skew, values, time."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from nextbuy.data.dataset import Dataset


def describe(dataset: Dataset, positive_threshold: float | None = None) -> dict[str, Any]:
    """Plain-Python statistics (JSON-serializable) of a Dataset's raw rows.

    ``feedback`` says whether the values were read as explicit ratings or implicit feedback,
    and why; with ``positive_threshold``, ``positives`` counts the ratings at or above it
    (what a ranking model trained with that threshold learns from).

    ``duplicates`` counts rows that repeat an earlier (user, item) pair (they are aggregated
    when indexed); ``density`` is distinct pairs / (users x items); ``gini`` is the Gini
    coefficient of interactions per item (0 = even, 1 = one item has everything) and
    ``top_1pct_share`` / ``top_10pct_share`` the share of rows on the most popular 1 % / 10 %
    of items (at least one item).
    """
    frame = dataset.frame
    rows = len(frame)
    u_codes, u_uniques = pd.factorize(frame["user_id"])
    i_codes, i_uniques = pd.factorize(frame["item_id"])
    n_users, n_items = len(u_uniques), len(i_uniques)
    pairs = len(np.unique(u_codes.astype(np.int64) * max(n_items, 1) + i_codes)) if rows else 0
    per_user = np.bincount(u_codes, minlength=n_users) if rows else np.zeros(0, np.int64)
    per_item = np.bincount(i_codes, minlength=n_items) if rows else np.zeros(0, np.int64)
    values = frame["value"].to_numpy(dtype=np.float64)

    out: dict[str, Any] = {
        "source": dataset.source,
        "explicit": bool(dataset.explicit),
        "feedback": dataset.feedback,
        "rows": rows,
        "users": n_users,
        "items": n_items,
        "pairs": pairs,
        "duplicates": rows - pairs,
        "density": pairs / (n_users * n_items) if n_users and n_items else 0.0,
        "per_user": _spread(per_user),
        "per_item": _spread(per_item),
        "popularity": _concentration(per_item),
        "value": _spread(values),
        "events": None,
        "ratings": None,
        "time": _time_range(frame["timestamp"].to_numpy(dtype=np.int64)),
        "catalog_items": None if dataset.catalog is None else len(dataset.catalog),
    }
    if "event" in frame.columns:
        counts = frame["event"].value_counts()
        out["events"] = {str(k): int(v) for k, v in counts.items()}
    if dataset.explicit and rows:
        levels, counts = np.unique(values, return_counts=True)
        out["ratings"] = {_label(v): int(c) for v, c in zip(levels, counts, strict=True)}
    if positive_threshold is not None:
        out["positives"] = int((values >= positive_threshold).sum())
    return out


def _spread(x: np.ndarray) -> dict[str, float]:
    if len(x) == 0:
        return {"min": 0.0, "median": 0.0, "mean": 0.0, "max": 0.0}
    return {
        "min": float(x.min()),
        "median": float(np.median(x)),
        "mean": float(x.mean()),
        "max": float(x.max()),
    }


def _concentration(per_item: np.ndarray) -> dict[str, float]:
    """Gini of per-item counts and the share of rows on the top 1 % / 10 % of items."""
    n = len(per_item)
    total = float(per_item.sum())
    if n == 0 or total == 0:
        return {"gini": 0.0, "top_1pct_share": 0.0, "top_10pct_share": 0.0}
    x = np.sort(per_item).astype(np.float64)
    gini = float((2.0 * np.arange(1, n + 1) - n - 1).dot(x) / (n * total))
    desc = x[::-1]
    top = {
        f"top_{p}pct_share": float(desc[: max(1, int(np.ceil(n * p / 100)))].sum() / total)
        for p in (1, 10)
    }
    return {"gini": gini, **top}


def _time_range(ts: np.ndarray) -> dict[str, str] | None:
    """ISO 8601 UTC range of the known (non-zero) timestamps, None when there are none."""
    known = ts[ts != 0]
    if len(known) == 0:
        return None

    def iso(t: int) -> str:
        return datetime.fromtimestamp(int(t), tz=timezone.utc).isoformat().replace("+00:00", "Z")

    return {"start": iso(known.min()), "end": iso(known.max())}


def _label(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"
