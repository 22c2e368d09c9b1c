"""Splits: disjoint, complete, deterministic, and each method's own guarantee."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nextbuy.data.interactions import Interactions
from nextbuy.data.split import (
    split,
    split_by_user,
    split_leave_last,
    split_random,
    split_temporal,
)
from nextbuy.errors import DataError, NextBuyError


@pytest.fixture(scope="module")
def inter() -> Interactions:
    """40 users with 1..40 interactions each over 60 items, distinct timestamps."""
    rng = np.random.default_rng(0)
    rows = []
    for u in range(40):  # building the fixture, not the code under test
        items = rng.choice(60, size=u + 1, replace=False)
        rows += [(f"u{u:02d}", f"i{i:02d}", 1.0) for i in items]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "value"])
    frame["timestamp"] = 1_000_000 + rng.permutation(len(frame)) * 10
    return Interactions.from_frame(frame)


def _pairs(part: Interactions) -> set[tuple[int, int]]:
    return set(zip(part.users.tolist(), part.items.tolist(), strict=True))


def _check_partition(inter: Interactions, train: Interactions, test: Interactions) -> None:
    assert train.user_map is inter.user_map and test.item_map is inter.item_map
    assert len(train) + len(test) == len(inter)
    assert not _pairs(train) & _pairs(test)
    assert _pairs(train) | _pairs(test) == _pairs(inter)


def test_random_split(inter: Interactions) -> None:
    train, test = split_random(inter, 0.25, seed=3)
    _check_partition(inter, train, test)
    assert len(test) == round(0.25 * len(inter))
    again = split_random(inter, 0.25, seed=3)[1]
    assert np.array_equal(again.users, test.users) and np.array_equal(again.items, test.items)
    assert _pairs(split_random(inter, 0.25, seed=4)[1]) != _pairs(test)


def test_by_user_split(inter: Interactions) -> None:
    train, test = split_by_user(inter, 0.2, seed=1, min_interactions=5)
    _check_partition(inter, train, test)
    n = np.bincount(inter.users, minlength=inter.n_users)
    n_test = np.bincount(test.users, minlength=inter.n_users)
    n_train = np.bincount(train.users, minlength=inter.n_users)
    assert (n_test[n < 5] == 0).all()  # too few: all in train
    big = n >= 5
    assert np.array_equal(n_test[big], np.floor(0.2 * n[big] + 0.5).astype(int))
    assert (n_train[n_test > 0] >= 1).all()
    again = split_by_user(inter, 0.2, seed=1, min_interactions=5)[1]
    assert _pairs(again) == _pairs(test)


def test_by_user_keeps_one_train_row_even_at_high_fractions(inter: Interactions) -> None:
    train, test = split_by_user(inter, 0.9, seed=0, min_interactions=2)
    n_train = np.bincount(train.users, minlength=inter.n_users)
    n_test = np.bincount(test.users, minlength=inter.n_users)
    assert (n_train >= 1).all() and (n_test[1:] >= 1).all()  # u00 has one row: train only


def test_temporal_split(inter: Interactions) -> None:
    train, test = split_temporal(inter, 0.2)
    _check_partition(inter, train, test)
    assert train.timestamps.max() < test.timestamps.min()
    assert len(test) == round(0.2 * len(inter))  # distinct timestamps: exact
    cutoff = int(np.median(inter.timestamps))
    train, test = split_temporal(inter, cutoff=cutoff)
    assert train.timestamps.max() < cutoff <= test.timestamps.min()


def test_temporal_split_needs_timestamps() -> None:
    frame = pd.DataFrame({"user_id": ["a", "b"], "item_id": ["x", "y"], "value": [1.0, 1.0]})
    with pytest.raises(DataError, match="same timestamp"):
        split_temporal(Interactions.from_frame(frame))
    frame["timestamp"] = [1, 2]
    with pytest.raises(DataError, match="leaves an empty test set"):
        split_temporal(Interactions.from_frame(frame), cutoff=10)


def test_temporal_ties_at_the_start_keep_a_train_set() -> None:
    frame = pd.DataFrame(
        {"user_id": list("abcde"), "item_id": list("vwxyz"), "value": 1.0,
         "timestamp": [5, 5, 5, 5, 9]}
    )  # fmt: skip
    train, test = split_temporal(Interactions.from_frame(frame), 0.6)
    assert train.timestamps.tolist() == [5, 5, 5, 5] and test.timestamps.tolist() == [9]


def test_leave_last_takes_the_latest_rows(inter: Interactions) -> None:
    train, test = split_leave_last(inter, n=2, min_interactions=3)
    _check_partition(inter, train, test)
    n = np.bincount(inter.users, minlength=inter.n_users)
    n_test = np.bincount(test.users, minlength=inter.n_users)
    assert np.array_equal(n_test, np.where(n >= 3, 2, 0))
    last_train = np.full(inter.n_users, -1)
    np.maximum.at(last_train, train.users, train.timestamps)
    first_test = np.full(inter.n_users, np.iinfo(np.int64).max)
    np.minimum.at(first_test, test.users, test.timestamps)
    has = n_test > 0
    assert (last_train[has] < first_test[has]).all()


def test_leave_last_keeps_one_train_row() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["a", "a", "b"],
            "item_id": ["x", "y", "x"],
            "value": 1.0,
            "timestamp": [2, 1, 5],
        }
    )
    train, test = split_leave_last(Interactions.from_frame(frame), n=5)
    assert test.item_map.to_ids(test.items).tolist() == ["x"]  # a's latest; b keeps its one row
    assert len(train) == 2


def test_split_dispatch_and_errors(inter: Interactions) -> None:
    for method, fn in [("random", split_random), ("user", split_by_user)]:
        assert _pairs(split(inter, method, 0.3, seed=9)[1]) == _pairs(fn(inter, 0.3, 9)[1])
    assert _pairs(split(inter, "temporal", 0.3)[1]) == _pairs(split_temporal(inter, 0.3)[1])
    assert _pairs(split(inter, "last", n=1)[1]) == _pairs(split_leave_last(inter, 1)[1])
    with pytest.raises(NextBuyError, match="unknown split method 'kfold'"):
        split(inter, "kfold")
    with pytest.raises(NextBuyError, match="between 0 and 1"):
        split_random(inter, 1.5)
