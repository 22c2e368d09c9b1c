"""Interactions: aggregation rules of DESIGN section 2, CSR views, weighting and re-indexing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from nextbuy.data.ids import IdMap
from nextbuy.data.interactions import Interactions
from nextbuy.errors import DataError


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp"])


def test_implicit_duplicates_sum() -> None:
    inter = Interactions.from_frame(
        frame([("u1", "a", 1, 5), ("u1", "a", 2, 9), ("u2", "b", 4, 1)])
    )
    assert len(inter) == 2
    dense = inter.csr.toarray()
    assert dense[inter.user_map.index_of("u1"), inter.item_map.index_of("a")] == 3.0
    assert inter.timestamps.max() == 9


def test_explicit_duplicates_keep_latest() -> None:
    inter = Interactions.from_frame(
        frame([("u1", "a", 5, 20), ("u1", "a", 1, 10), ("u1", "b", 3, 1)]), explicit=True
    )
    dense = inter.csr.toarray()
    assert dense[0, inter.item_map.index_of("a")] == 5.0
    assert inter.rating_range == (3.0, 5.0)


def test_unknown_ids_with_given_maps() -> None:
    maps = dict(user_map=IdMap(["u1"]), item_map=IdMap(["a"]))
    rows = frame([("u1", "a", 1, 0), ("u9", "a", 1, 0)])
    with pytest.raises(DataError, match="row 1"):
        Interactions.from_frame(rows, **maps)
    kept = Interactions.from_frame(rows, unknown="drop", **maps)
    assert len(kept) == 1


def test_subset_and_with_maps() -> None:
    inter = Interactions.from_frame(
        frame([("u1", "a", 1, 0), ("u2", "b", 1, 0), ("u2", "a", 1, 0)])
    )
    sub = inter.subset(inter.users == inter.user_map.index_of("u2"))
    assert sub.csr.shape == inter.csr.shape and sub.csr.nnz == 2
    other = sub.with_maps(IdMap(["u2", "u3"]), IdMap(["b"]))
    assert other.shape == (2, 1) and len(other) == 1
    back = other.to_frame()
    assert back[["user_id", "item_id"]].values.tolist() == [["u2", "b"]]


def test_missing_columns_are_named() -> None:
    with pytest.raises(DataError, match="missing column"):
        Interactions.from_frame(pd.DataFrame({"user_id": ["a"]}), source="x.csv")


@pytest.mark.parametrize("explicit", [False, True])
def test_aggregation_matches_pandas_reference(explicit: bool) -> None:
    rng = np.random.default_rng(1)
    n = 5000
    df = pd.DataFrame(
        {
            "user_id": rng.integers(0, 50, n).astype(str),
            "item_id": np.char.add("i", rng.integers(0, 40, n).astype(str)),
            "value": rng.integers(1, 6, n).astype(float),
            "timestamp": rng.permutation(n).astype(np.int64),
        }
    )
    inter = Interactions.from_frame(df, explicit=explicit)
    if explicit:
        ref = df.sort_values("timestamp").groupby(["user_id", "item_id"])["value"].last()
    else:
        ref = df.groupby(["user_id", "item_id"])["value"].sum()
    got = inter.to_frame().set_index(["user_id", "item_id"])["value"].sort_index()
    assert len(got) == len(ref)
    np.testing.assert_allclose(got.to_numpy(), ref.sort_index().to_numpy())


def test_id_maps_sort_ids_by_code_point_with_or_without_nul_characters() -> None:
    ids = ["b", "a", "é", "Z", "10", "9", "ä", "\U0001f600", "z", "a"]
    inter = Interactions.from_frame(
        pd.DataFrame({"user_id": ids, "item_id": ids, "value": 1.0, "timestamp": 0})
    )
    assert inter.user_map.ids.tolist() == sorted(set(ids))  # the Arrow sort path
    assert inter.users.dtype == np.int32 and inter.values.dtype == np.float32
    with_nul = [*ids, "a\x00"]  # numpy's order (the fallback) keeps first-seen order there
    inter = Interactions.from_frame(
        pd.DataFrame({"user_id": with_nul, "item_id": "x", "value": 1.0, "timestamp": 0})
    )
    assert inter.user_map.ids.tolist() == ["10", "9", "Z", "a", "a\x00", "b", "z", "ä", "é", "😀"]
    assert set(inter.user_map.to_ids(inter.users)) == set(with_nul)


def test_events_keep_the_latest_event_type_per_pair() -> None:
    raw = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u1"],
            "item_id": ["a", "a", "a", "b"],
            "value": [1.0, 5.0, 3.0, 1.0],
            "timestamp": [1, 9, 2, 3],
            "event": ["view", "purchase", "cart", "view"],
        }
    )
    inter = Interactions.from_frame(raw)
    got = {
        (u, i): (e, v)
        for u, i, e, v in zip(
            inter.user_map.to_ids(inter.users),
            inter.item_map.to_ids(inter.items),
            inter.events.tolist(),
            inter.values.tolist(),
            strict=True,
        )
    }
    assert got == {
        ("u1", "a"): ("purchase", 6.0),
        ("u2", "a"): ("cart", 3.0),
        ("u1", "b"): ("view", 1.0),
    }
    assert inter.events.dtype == object


@pytest.mark.parametrize(
    "n_rows, n_users, n_items", [(0, 0, 0), (1, 1, 1), (500, 40, 9), (3000, 900, 5)]
)
def test_duplicated_pairs_match_one_argsort_of_the_keys(
    n_rows: int, n_users: int, n_items: int
) -> None:
    from nextbuy.data.pairs import duplicated, duplicated_by_argsort, sort_pairs

    rng = np.random.default_rng(n_rows)
    users = rng.integers(0, max(n_users, 1), n_rows).astype(np.int32)
    items = rng.integers(0, max(n_items, 1), n_rows).astype(np.int32)
    shape = (n_users + 3, max(n_items, 1))  # users without rows: empty CSR rows
    got = duplicated(users, items, shape, sort_pairs(users, items, shape))
    want = duplicated_by_argsort(users.astype(np.int64) * max(n_items, 1) + items)
    np.testing.assert_array_equal(got, want)
    assert n_rows < 500 or 0 < got.sum() < n_rows


@pytest.mark.parametrize("explicit", [False, True])
@pytest.mark.parametrize("n_rows", [1, 7, 4000])
def test_csr_laid_out_with_the_aggregation_is_the_csr_of_its_rows(
    explicit: bool, n_rows: int
) -> None:
    rng = np.random.default_rng(n_rows)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 300, n_rows).astype(str),
            "item_id": rng.integers(0, 40, n_rows).astype(str),
            "value": rng.random(n_rows) * 5,
            "timestamp": rng.integers(0, 10, n_rows),
        }
    )
    inter = Interactions.from_frame(frame, explicit=explicit)
    got = inter.csr
    want = sp.csr_matrix((inter.values, (inter.users, inter.items)), shape=inter.shape)
    want.sum_duplicates()
    want.sort_indices()
    assert got.dtype == np.float32 and got.shape == want.shape and got.nnz == len(inter)
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_array_equal(got.data, want.data)
    assert got.has_sorted_indices and got.has_canonical_format
