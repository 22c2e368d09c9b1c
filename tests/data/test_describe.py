"""describe(): the numbers on a small dataset computed by hand."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from nextbuy.data.dataset import Dataset
from nextbuy.data.describe import describe


def test_describe_explicit_ratings() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2", "u3"],
            "item_id": ["a", "b", "a", "a", "c", "a"],
            "value": [4.0, 5.0, 3.0, 4.0, 1.0, 4.5],
            "timestamp": [1704067200, 1704153600, 1704067300, 0, 1704240000, 1704067200],
        }
    )
    stats = describe(Dataset(frame, explicit=True, source="r.csv"))
    assert (stats["rows"], stats["users"], stats["items"]) == (6, 3, 3)
    assert stats["pairs"] == 5 and stats["duplicates"] == 1
    assert stats["density"] == pytest.approx(5 / 9)
    assert stats["per_user"] == {"min": 1.0, "median": 2.0, "mean": 2.0, "max": 3.0}
    assert stats["per_item"] == {"min": 1.0, "median": 1.0, "mean": 2.0, "max": 4.0}
    # per-item counts sorted 1, 1, 4: gini = sum((2i - n - 1) x_i) / (n sum x) = 6 / 18
    assert stats["popularity"]["gini"] == pytest.approx(1 / 3)
    assert stats["popularity"]["top_1pct_share"] == pytest.approx(4 / 6)
    assert stats["ratings"] == {"1": 1, "3": 1, "4": 2, "4.5": 1, "5": 1}
    assert stats["time"] == {"start": "2024-01-01T00:00:00Z", "end": "2024-01-03T00:00:00Z"}
    assert stats["events"] is None and stats["catalog_items"] is None
    json.dumps(stats)  # plain Python values only


def test_describe_events_without_time() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u2"],
            "item_id": ["a", "a"],
            "value": [1.0, 5.0],
            "timestamp": [0, 0],
            "event": ["view", "purchase"],
        }
    )
    stats = describe(Dataset(frame, explicit=False, source="e.csv"))
    assert stats["events"] == {"view": 1, "purchase": 1}
    assert stats["time"] is None and stats["ratings"] is None
    assert stats["value"]["mean"] == 3.0
