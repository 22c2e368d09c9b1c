"""filter_min_counts: one pass versus k-core."""

from __future__ import annotations

import pandas as pd
import pytest

from nextbuy.data.filters import filter_min_counts
from nextbuy.errors import DataError


@pytest.fixture
def frame() -> pd.DataFrame:
    # u1: a b c | u2: a b | u3: a c | u4: d (d only here), u1 repeats a
    pairs = [("u1", "a"), ("u1", "b"), ("u1", "c"), ("u1", "a"), ("u2", "a"), ("u2", "b"),
             ("u3", "a"), ("u3", "c"), ("u4", "d"), ("u4", "a")]  # fmt: skip
    return pd.DataFrame(pairs, columns=["user_id", "item_id"]).assign(value=1.0)


def test_one_pass_counts_distinct_pairs(frame: pd.DataFrame) -> None:
    out = filter_min_counts(frame, min_user=3)
    assert set(out["user_id"]) == {"u1"}  # u1 has 3 distinct items (a is repeated)
    assert len(out) == 4  # raw rows are kept, duplicates included


def test_kcore_iterates_until_stable(frame: pd.DataFrame) -> None:
    # one pass: item d (1 user) goes, but u4 was counted with d and stays with only a
    once = filter_min_counts(frame, min_user=2, min_item=2)
    assert set(once["user_id"]) == {"u1", "u2", "u3", "u4"}
    assert "d" not in set(once["item_id"])
    core = filter_min_counts(frame, min_user=2, min_item=2, kcore=True)
    assert set(core["user_id"]) == {"u1", "u2", "u3"}
    assert set(core["item_id"]) == {"a", "b", "c"}
    users = core.drop_duplicates(["user_id", "item_id"]).groupby("user_id").size()
    items = core.drop_duplicates(["user_id", "item_id"]).groupby("item_id").size()
    assert users.min() >= 2 and items.min() >= 2


def test_kcore_can_empty_everything(frame: pd.DataFrame) -> None:
    assert filter_min_counts(frame, min_user=5, kcore=True).empty


def test_missing_column(frame: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="missing column 'item_id'"):
        filter_min_counts(frame.drop(columns="item_id"), min_user=2)
