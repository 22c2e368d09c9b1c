"""IdMap: string IDs stay strings, unknown IDs are reported, maps round-trip through parquet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nextbuy.data.ids import IdMap
from nextbuy.data.interactions import Interactions
from nextbuy.errors import DataError


def test_ids_stay_strings_and_sorted() -> None:
    ids = ["7", "007", "b", "a", "007"]
    frame = pd.DataFrame({"user_id": ids, "item_id": "x", "value": 1.0})
    m = Interactions.from_frame(frame).user_map  # how maps are built from observed IDs
    assert list(m.ids) == ["007", "7", "a", "b"]
    assert m.index(["7", "007"]).tolist() == [1, 0]
    assert m.index_of("7") == 1 and m.index_of("07") == -1


def test_unknown_ids_are_minus_one_not_invented() -> None:
    m = IdMap(["x", "y"])
    out = m.index(np.array(["y", "zzz", "x"], dtype=object))
    assert out.dtype == np.int32
    assert out.tolist() == [1, -1, 0]
    assert len(m) == 2


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(DataError, match="duplicate ID 'a'"):
        IdMap(["a", "b", "a"])


def test_parquet_round_trip(tmp_path) -> None:
    m = IdMap(["007", "7", "é"])
    m.save(tmp_path / "users.parquet", column="user_id")
    back = IdMap.load(tmp_path / "users.parquet", column="user_id")
    assert back == m
    assert back.to_ids([2, 0]).tolist() == ["é", "007"]


def test_load_rejects_bad_index(tmp_path) -> None:
    pd.DataFrame({"index": [1, 0], "id": ["a", "b"]}).to_parquet(tmp_path / "m.parquet")
    with pytest.raises(DataError, match="0..n-1"):
        IdMap.load(tmp_path / "m.parquet")
