"""The synthetic shop: determinism, schema, latent structure, writing, speed."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from nextbuy.data.catalog import CATALOG_COLUMNS, read_catalog
from nextbuy.data.columns import DEFAULT_EVENT_WEIGHTS
from nextbuy.data.interactions import Interactions
from nextbuy.data.sources import read_interactions
from nextbuy.data.split import split_by_user
from nextbuy.data.synthetic import Shop, generate_shop, write_shop
from nextbuy.errors import DataError


def test_same_seed_same_shop_other_seed_other_shop() -> None:
    a = generate_shop(n_users=200, n_items=80, n_interactions=4000, seed=3)
    b = generate_shop(n_users=200, n_items=80, n_interactions=4000, seed=3)
    c = generate_shop(n_users=200, n_items=80, n_interactions=4000, seed=4)
    for name in ("interactions", "ratings", "items", "users"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.interactions.equals(c.interactions)


def test_schema_and_ids(small_shop: Shop) -> None:
    inter, ratings, items = small_shop.interactions, small_shop.ratings, small_shop.items
    assert list(inter.columns) == ["user_id", "item_id", "value", "timestamp", "event"]
    assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert list(items.columns) == list(CATALOG_COLUMNS)
    assert len(inter) == 30_000
    assert inter["user_id"].str.fullmatch(r"u\d{5}").all()
    assert inter["item_id"].str.fullmatch(r"p\d{5}").all()
    assert inter["user_id"].nunique() == 600  # everyone interacts
    assert inter["value"].dtype == np.float64 and inter["timestamp"].dtype == np.int64
    assert items["item_id"].tolist() == [f"p{i:05d}" for i in range(150)]
    assert set(inter["item_id"]) <= set(items["item_id"])
    assert inter["timestamp"].is_monotonic_increasing  # an event log, in time order
    start, end = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2025-01-01", tz="UTC")
    assert inter["timestamp"].min() >= start.timestamp()
    assert inter["timestamp"].max() < end.timestamp()


def test_events_and_values(small_shop: Shop) -> None:
    inter = small_shop.interactions
    share = inter["event"].value_counts(normalize=True)
    assert set(share.index) == {"view", "cart", "purchase"}
    assert share["view"] > 0.6 and share["purchase"] > 0.05
    weights = inter["event"].map(DEFAULT_EVENT_WEIGHTS)
    assert (inter["value"] == weights).all()


def test_catalog_is_readable(small_shop: Shop) -> None:
    items = small_shop.items
    assert items["item_id"].is_unique
    assert (items["name"].str.len() > 5).all()
    assert (items["price"] > 0).all()
    assert items["in_stock"].dtype == bool and items["in_stock"].mean() > 0.85
    assert items["category"].nunique() == 10
    assert items.apply(lambda r: r["name"].startswith(r["brand"]), axis=1).all()


def test_ratings_one_per_pair_and_every_purchase_rated(small_shop: Shop) -> None:
    inter, ratings = small_shop.interactions, small_shop.ratings
    assert not ratings.duplicated(["user_id", "item_id"]).any()
    assert ratings["rating"].between(1, 5).all() and ratings["rating"].dtype == np.int64
    assert 3.2 < ratings["rating"].mean() < 3.9
    assert ratings["rating"].nunique() == 5
    pairs = (
        inter.assign(bought=inter["event"] == "purchase")
        .groupby(["user_id", "item_id"])
        .agg(last=("timestamp", "max"), bought=("bought", "max"))
    )
    rated = ratings.set_index(["user_id", "item_id"])
    assert rated.index.isin(pairs.index).all()
    assert (rated["timestamp"] == pairs.loc[rated.index, "last"].to_numpy()).all()
    assert pairs.index[pairs["bought"]].isin(rated.index).all()


def test_users_concentrate_in_their_favourite_category(small_shop: Shop) -> None:
    inter = small_shop.interactions.merge(small_shop.items[["item_id", "category"]], on="item_id")
    inter = inter.merge(small_shop.users[["user_id", "favorite_category"]], on="user_id")
    in_fav = (inter["category"] == inter["favorite_category"]).groupby(inter["user_id"]).mean()
    # ten categories: without tastes a user would spend about 10 % in any one of them
    assert in_fav.mean() > 0.45
    bought = inter[inter["event"] == "purchase"]
    assert (bought["category"] == bought["favorite_category"]).mean() > 0.45


def test_collaborative_signal_beats_popularity() -> None:
    """On the default (demo) shop, item-item cosine kNN clearly beats popularity."""
    inter = Interactions.from_frame(generate_shop().interactions)
    train, test = split_by_user(inter, 0.2, seed=1, min_interactions=5)
    x = train.binary_csr()
    t = test.binary_csr()
    users = np.flatnonzero(np.diff(t.indptr) > 0)
    norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel()) + 1e-9
    sim = (x.T @ x).toarray() / np.outer(norms, norms)
    np.fill_diagonal(sim, 0.0)
    seen = x[users].toarray() > 0
    pop = np.asarray(x.sum(axis=0)).ravel()

    def recall(scores: np.ndarray) -> float:
        scores = np.where(seen, -np.inf, scores)
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        truth = t[users].toarray() > 0
        hits = np.take_along_axis(truth, top, axis=1).sum(axis=1)
        return float((hits / np.minimum(truth.sum(axis=1), 10)).mean())

    knn = recall(np.asarray(sp.csr_matrix(x[users]) @ sim))
    popular = recall(np.tile(pop, (len(users), 1)).astype(float))
    assert knn > 1.4 * popular, (knn, popular)  # measured: 0.20 vs 0.12


def test_biases_explain_part_of_the_ratings(small_shop: Shop) -> None:
    r = small_shop.ratings
    mu = r["rating"].mean()
    user_mean = r.groupby("user_id")["rating"].transform("mean")
    item_mean = r.groupby("item_id")["rating"].transform("mean")
    resid = r["rating"] - (user_mean + item_mean - mu)
    assert resid.std() < 0.9 * r["rating"].std()


def test_write_shop_round_trip(small_shop: Shop, tmp_path) -> None:
    paths = write_shop(small_shop, tmp_path / "shop")
    assert set(paths) == {"interactions", "ratings", "items"}
    assert sorted(p.name for p in (tmp_path / "shop").iterdir()) == [
        "interactions.csv",
        "items.csv",
        "ratings.csv",
    ]  # no temporary files left
    events = read_interactions(paths["interactions"])
    assert not events.explicit
    # events come as a categorical of their few types; the values are the generated ones
    frame = events.frame.astype({"event": "str"})
    pd.testing.assert_frame_equal(frame, small_shop.interactions, check_dtype=False)
    ratings = read_interactions(paths["ratings"])
    assert ratings.explicit and len(ratings.frame) == len(small_shop.ratings)
    assert ratings.frame["value"].tolist() == small_shop.ratings["rating"].astype(float).tolist()
    items = read_catalog(paths["items"])
    pd.testing.assert_frame_equal(items, small_shop.items, check_dtype=False)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(DataError, match="n_interactions"):
        generate_shop(n_users=100, n_items=10, n_interactions=50)
    with pytest.raises(DataError, match="n_items must be at least 1"):
        generate_shop(n_items=0)


def test_one_million_interactions_generate_quickly() -> None:
    started = time.perf_counter()
    shop = generate_shop(n_users=20_000, n_items=5_000, n_interactions=1_000_000, seed=5)
    took = time.perf_counter() - started
    assert len(shop.interactions) == 1_000_000
    assert took < 15.0, took
