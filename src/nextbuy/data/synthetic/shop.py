"""generate_shop and write_shop: the taste model's draws as event, rating and catalog tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pv

from nextbuy.data.synthetic.products import catalog_rows, category_names
from nextbuy.data.synthetic.taste import (
    Items,
    choose_items,
    draw_items,
    draw_users,
    rate,
    sample_events,
)
from nextbuy.errors import DataError
from nextbuy.fsio import atomic_path

_START = 1_704_067_200  # 2024-01-01T00:00:00Z
_YEAR = 365 * 86_400
_EVENTS = ("view", "cart", "purchase")
_EVENT_VALUES = np.array([1.0, 3.0, 5.0])


@dataclass
class Shop:
    """A generated shop: event log, explicit ratings, catalog, and the users' ground truth.

    ``users`` (user_id, favorite_category, category_share) is what the generator knows about
    each user's taste; it is not written by :func:`write_shop` and exists for checks.
    """

    interactions: pd.DataFrame  # user_id, item_id, value, timestamp, event (sorted by time)
    ratings: pd.DataFrame  # user_id, item_id, rating (int 1-5), timestamp; one row per pair
    items: pd.DataFrame  # item_id, name, brand, category, price, in_stock
    users: pd.DataFrame | None = None


def generate_shop(
    n_users: int = 2000,
    n_items: int = 500,
    n_interactions: int = 100_000,
    seed: int = 42,
    n_categories: int = 10,
    factors: int = 8,
    taste: float = 2.0,
    candidates: int = 6,
    explore: float = 0.05,
    rated_share: float = 0.5,
    sequential: float = 0.0,
) -> Shop:
    """Generate a shop (see :mod:`nextbuy.data.synthetic` for the model); deterministic by ``seed``.

    ``taste`` is how strongly latent affinity decides between ``candidates`` items drawn by
    popularity; ``explore`` is the share of interactions that follow global popularity only;
    ``rated_share`` is the share of non-purchased pairs that also get a rating.
    ``sequential`` is the share of interactions that continue the user's previous one along a
    category journey: each item has one complement in the next category (tent -> sleeping
    bag -> stove), which follows it in that share of cases, so order predicts what comes next.
    """
    _check_sizes(n_users, n_items, n_interactions, n_categories, factors, candidates)
    rng = np.random.default_rng(seed)
    n_cat = min(n_categories, n_items)
    items = draw_items(n_items, n_cat, factors, rng)
    people = draw_users(items, n_users, n_interactions, factors, rng)

    # ---- interactions, in time order
    users = np.repeat(np.arange(n_users, dtype=np.int32), people.activity)
    chosen, affinity = choose_items(users, people, items, taste, candidates, explore, rng)
    events = sample_events(affinity, rng)
    first_seen = rng.uniform(0.0, 0.8, n_users)
    frac = first_seen[users] + rng.random(len(users)) * (1.0 - first_seen[users])
    offsets = (frac * _YEAR).astype(np.int64)  # seconds since _START, < 2**25
    order = _argsort_unique(offsets, _YEAR)
    users, chosen, events = users[order], chosen[order], events[order]
    stamps = _START + offsets[order]
    if sequential > 0:
        chosen = _journeys(users, chosen, items, sequential, rng)

    # ---- ratings: one per rated (user, item) pair
    r_users, r_items, r_stamps = _rated_pairs(
        users, chosen, events, stamps, n_items, rated_share, rng
    )
    ratings = rate(r_users, r_items, people, items, rng)

    # ---- string IDs and frames (pyarrow takes: no Python strings per row)
    user_ids = _id_strings("u", n_users)
    perm = rng.permutation(n_items)  # IDs do not reveal the internal category order
    item_ids = _id_strings("p", n_items).take(pa.array(perm))
    catalog = catalog_rows(item_ids, items.category, items.brand, n_cat, rng)
    inter = pd.DataFrame(
        {
            "user_id": _take(user_ids, users),
            "item_id": _take(item_ids, chosen),
            "value": _EVENT_VALUES[events],
            "timestamp": stamps,
            "event": _take(pa.array(_EVENTS), events),
        }
    )
    rating_frame = pd.DataFrame(
        {
            "user_id": _take(user_ids, r_users),
            "item_id": _take(item_ids, r_items),
            "rating": ratings,
            "timestamp": r_stamps,
        }
    )
    mix = people.mix
    fav = mix.argmax(axis=1)
    user_frame = pd.DataFrame(
        {
            "user_id": _take(user_ids, np.arange(n_users)),
            "favorite_category": pd.Series(category_names(n_cat)[fav], dtype="str"),
            "category_share": mix[np.arange(n_users), fav],
        }
    )
    catalog = catalog.iloc[np.argsort(perm, kind="stable")].reset_index(drop=True)
    return Shop(interactions=inter, ratings=rating_frame, items=catalog, users=user_frame)


def write_shop(shop: Shop, out: str | Path) -> dict[str, Path]:
    """Write ``interactions.csv``, ``ratings.csv`` and ``items.csv`` under ``out``, atomically.

    Each file is written to a temporary name in ``out`` and renamed into place, so a reader
    never sees half a file. Returns the paths by name.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = {
        "interactions": shop.interactions[["user_id", "item_id", "value", "timestamp", "event"]],
        "ratings": shop.ratings[["user_id", "item_id", "rating", "timestamp"]],
        "items": shop.items,
    }
    paths: dict[str, Path] = {}
    for name, frame in frames.items():
        paths[name] = out / f"{name}.csv"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        with atomic_path(paths[name]) as tmp:
            pv.write_csv(table, tmp, write_options=pv.WriteOptions(quoting_style="needed"))
    return paths


def _check_sizes(
    n_users: int, n_items: int, n_interactions: int, n_categories: int, factors: int, cand: int
) -> None:
    checks = {
        "n_users": n_users,
        "n_items": n_items,
        "n_categories": n_categories,
        "factors": factors,
        "candidates": cand,
    }
    for name, value in checks.items():
        if value < 1:
            raise DataError(f"generate_shop: {name} must be at least 1, got {value}")
    if n_interactions < n_users:
        raise DataError(
            f"generate_shop: n_interactions ({n_interactions}) must be at least n_users "
            f"({n_users}): every user interacts at least once"
        )


def _argsort_unique(keys: np.ndarray, bound: int) -> np.ndarray:
    """Stable argsort of non-negative int64 ``keys < bound``, via one value sort.

    Packing ``key * n + row`` makes every value unique, so the fast (SIMD) unstable sort
    gives the same order as a stable argsort, on every machine.
    """
    n = len(keys)
    if n == 0 or bound.bit_length() + n.bit_length() > 62:
        return np.argsort(keys, kind="stable")
    packed = keys.astype(np.int64) * n + np.arange(n, dtype=np.int64)
    return np.sort(packed) % n


def _rated_pairs(
    users: np.ndarray,
    items: np.ndarray,
    events: np.ndarray,
    stamps: np.ndarray,
    n_items: int,
    rated_share: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (user, item) pairs that get a rating: all purchased ones plus a share of the
    rest, ordered by time; each pair's rating time is its last interaction."""
    key = users.astype(np.int64) * n_items + items
    n_pairs_bound = (int(users.max()) + 1) * n_items if len(users) else 1
    order = _argsort_unique(key, n_pairs_bound)
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    bought = np.maximum.reduceat(events[order] == 2, starts) if len(k) else np.zeros(0, bool)
    last = np.maximum.reduceat(stamps[order], starts) if len(k) else np.zeros(0, np.int64)
    keep = bought | (rng.random(len(starts)) < rated_share)
    pairs, r_last = k[starts][keep], last[keep]
    by_time = _argsort_unique(r_last - _START, _YEAR)
    pairs, r_last = pairs[by_time], r_last[by_time]
    return (pairs // n_items).astype(np.int32), (pairs % n_items).astype(np.int32), r_last


def _journeys(
    users: np.ndarray,
    chosen: np.ndarray,
    items: Items,
    share: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """``chosen`` (time order) where a ``share`` of interactions follow the user's previous
    item to its complement: an item of the next category, drawn by popularity, fixed per item.

    Three passes let journeys run up to four steps (each pass extends every chain by one).
    """
    n_items = len(items.category)
    n_cat = int(items.category.max()) + 1
    target = (items.category + 1) % n_cat
    starts = np.searchsorted(items.category, np.arange(n_cat))
    sizes = np.bincount(items.category, minlength=n_cat)
    weight = items.popularity[np.arange(n_items)]
    # a complement per item: a popularity-weighted draw inside the target category
    u = rng.random(n_items)
    complement = np.empty(n_items, dtype=chosen.dtype)
    for c in range(n_cat):  # categories, not items: a handful of iterations
        members = slice(starts[c], starts[c] + sizes[c])
        cum = np.cumsum(weight[members])
        mine = target == c
        pick = np.searchsorted(cum / cum[-1], u[mine], side="right").clip(0, sizes[c] - 1)
        complement[mine] = starts[c] + pick
    by_user = np.argsort(users, kind="stable")  # time order within each user
    prev = np.empty(len(users), dtype=np.int64)
    prev[by_user[1:]] = by_user[:-1]
    first = np.ones(len(users), dtype=bool)
    first[by_user[1:]] = users[by_user[1:]] != users[by_user[:-1]]
    follow = (rng.random(len(users)) < share) & ~first
    out = chosen.copy()
    for _ in range(3):
        out[follow] = complement[out[prev[follow]]]
    return out


def _id_strings(prefix: str, n: int) -> pa.Array:
    """``prefix`` + zero-padded numbers (at least 5 digits), as an Arrow string array."""
    width = max(5, len(str(max(n - 1, 0))))
    return pa.array(np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width)))


def _take(dictionary: pa.Array, codes: np.ndarray) -> pd.Series:
    """Strings ``dictionary[codes]`` as a pandas ``str`` column, without Python objects."""
    return pd.Series(dictionary.take(pa.array(codes)).to_pandas(), dtype="str")
