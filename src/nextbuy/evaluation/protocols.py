"""The fixed MovieLens benchmark splits of DESIGN section 7 (protocol A: ratings, B: top-N)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nextbuy.data.ids import IdMap
from nextbuy.data.interactions import Interactions
from nextbuy.errors import DataError

#: Seed of every protocol's ``numpy.random.RandomState``.
SEED = 42
#: Protocol A: share of the permuted rows that go to train (80,000 of 100,000).
TRAIN_SHARE = 0.8
#: Protocol B: users with fewer interactions than this stay entirely in train.
MIN_USER_INTERACTIONS = 5
#: Protocol B: share of each user's items held out, rounded half up, at least one.
TEST_SHARE = 0.2


def read_udata(path: str | Path) -> pd.DataFrame:
    """``u.data`` rows in file order: int64 ``user``, ``item``, ``rating``, ``timestamp``.

    ``path`` is the file or its folder. The separator is any whitespace, because two lines of
    the shipped file use spaces instead of tabs.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "u.data"
    if not path.is_file():
        raise DataError(f"{path}: no such file (expected MovieLens 100K's u.data)")
    frame = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["user", "item", "rating", "timestamp"],
        dtype="int64",
    )
    if frame.empty:
        raise DataError(f"{path}: no ratings")
    return frame


def _numeric_map(values: np.ndarray) -> tuple[IdMap, np.ndarray]:
    """An IdMap of the distinct integer IDs in ascending numeric order, and each row's index."""
    uniq, index = np.unique(values, return_inverse=True)
    return IdMap(uniq.astype(str).astype(object)), index.astype(np.int32)


def _interactions(
    rows: pd.DataFrame, user_map: IdMap, item_map: IdMap, users: np.ndarray, items: np.ndarray,
    values: np.ndarray, explicit: bool,
) -> Interactions:  # fmt: skip
    return Interactions(
        user_map=user_map,
        item_map=item_map,
        users=users,
        items=items,
        values=values.astype(np.float32),
        timestamps=rows["timestamp"].to_numpy(dtype=np.int64),
        explicit=explicit,
    )


def protocol_a(path: str | Path) -> tuple[Interactions, Interactions]:
    """Rating prediction split: ``RandomState(42).permutation(n)`` of the rows in file order;
    the first 80 % (80,000 of 100,000) are train, the rest test.

    Both halves are explicit (value = rating) and share IdMaps built from every row, users
    and items in ascending numeric ID order; an item rated only in test is known to the maps
    but has no training rows (models give it their baseline).
    """
    frame = read_udata(path)
    n = len(frame)
    perm = np.random.RandomState(SEED).permutation(n)
    n_train = int(round(TRAIN_SHARE * n))
    user_map, users = _numeric_map(frame["user"].to_numpy())
    item_map, items = _numeric_map(frame["item"].to_numpy())
    ratings = frame["rating"].to_numpy()

    def part(rows: np.ndarray) -> Interactions:
        return _interactions(
            frame.iloc[rows], user_map, item_map, users[rows], items[rows], ratings[rows], True
        )

    return part(perm[:n_train]), part(perm[n_train:])


def protocol_b(path: str | Path) -> tuple[Interactions, Interactions]:
    """Top-N split: every rating is an interaction of value 1, held out per user.

    One ``RandomState(42)`` walks the users in ascending numeric ID order; for each user with
    at least 5 distinct items (sorted ascending), ``p = rng.permutation(n)`` and the items at
    ``p[:max(1, floor(0.2 * n + 0.5))]`` go to test. Users with fewer items draw nothing from
    the generator and stay in train. Both halves share IdMaps of every user and item, so the
    evaluation ranks the whole catalogue.
    """
    frame = read_udata(path)
    # one row per (user, item); the latest timestamp if a pair repeats
    frame = frame.sort_values(["user", "item", "timestamp"], kind="stable")
    frame = frame.drop_duplicates(["user", "item"], keep="last").reset_index(drop=True)
    user_map, users = _numeric_map(frame["user"].to_numpy())
    item_map, items = _numeric_map(frame["item"].to_numpy())
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    test = np.zeros(len(frame), dtype=bool)
    rng = np.random.RandomState(SEED)
    # The generator's sequence is the protocol: one permutation per eligible user, in order,
    # so this stays a loop over users (about 1,000 calls on MovieLens 100K).
    for start, n in zip(starts.tolist(), counts.tolist(), strict=True):
        if n < MIN_USER_INTERACTIONS:
            continue
        n_test = max(1, int(np.floor(TEST_SHARE * n + 0.5)))
        test[start + rng.permutation(n)[:n_test]] = True
    ones = np.ones(len(frame), dtype=np.float32)

    def part(mask: np.ndarray) -> Interactions:
        return _interactions(
            frame[mask], user_map, item_map, users[mask], items[mask], ones[mask], False
        )

    return part(~test), part(test)
