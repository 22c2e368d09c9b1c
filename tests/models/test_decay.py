"""Time decay (half-life in days) for als, ials, ease and itemknn, and trending popularity."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from contract import RecommenderContract

from nextbuy.data.interactions import Interactions
from nextbuy.models import registry
from nextbuy.models.base import Recommender
from nextbuy.models.weighting import DAY, recency

T0 = 1_700_000_000
QUICK: dict[str, dict[str, object]] = {
    "als": {"factors": 8, "iterations": 10, "num_threads": 1, "regularization": 0.1},
    "ials": {"factors": 8, "iterations": 10},
    "ease": {"regularization": 1.0},
    "itemknn": {},
}


class TestTrending(RecommenderContract):
    personalized: ClassVar[bool] = False

    def make_model(self) -> Recommender:
        return registry.create("trending")


def frame(rows: list[tuple[str, str, int]]) -> Interactions:
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "days"])
    df["timestamp"] = T0 + df.pop("days") * int(DAY)
    df["value"] = 1.0
    return Interactions.from_frame(df)


def drifting_shop() -> Interactions:
    """Two tastes: a1-a4 together, b1-b4 together; u_mixed had a-items long ago, b1 last week."""
    rows = []
    for u in range(30):
        taste = "a" if u % 2 else "b"
        rows += [(f"u{u}", f"{taste}{j}", 400 + u) for j in range(1, 5)]
    rows += [("u_mixed", f"a{j}", 0) for j in (1, 2, 3)] + [("u_mixed", "b1", 440)]
    return frame(rows)


def test_recency_halves_every_half_life() -> None:
    data = frame([("u", "i", 10), ("u", "j", 9), ("v", "i", 0)])
    factor = recency(data, half_life_days=1.0)
    assert factor is not None
    i, j = data.item_map.index_of("i"), data.item_map.index_of("j")
    u, v = data.user_map.index_of("u"), data.user_map.index_of("v")
    assert factor[u, i] == pytest.approx(1.0)
    assert factor[u, j] == pytest.approx(0.5)
    assert factor[v, i] == pytest.approx(0.5**10)
    assert recency(data, 0.0) is None
    untimed = Interactions.from_frame(
        pd.DataFrame({"user_id": ["u"], "item_id": ["i"], "value": [1.0]})
    )
    assert recency(untimed, 7.0) is None  # no timestamps: nothing to decay


@pytest.mark.parametrize("name", sorted(QUICK))
def test_decay_follows_the_latest_taste(name: str) -> None:
    data = drifting_shop()
    user = np.array([data.user_map.index_of("u_mixed")])
    b_items = set(data.item_map.index([f"b{j}" for j in range(2, 5)]).tolist())
    plain = registry.create(name, **QUICK[name]).fit(data)
    decay = registry.create(name, **QUICK[name], half_life_days=7.0).fit(data)
    top_plain, _ = plain.recommend(user, k=1)
    top_decay, _ = decay.recommend(user, k=1)
    assert int(top_decay[0, 0]) in b_items, name
    assert int(top_plain[0, 0]) not in b_items, name  # three old a-items outweigh one b-item


@pytest.mark.parametrize("name", sorted(QUICK))
def test_decay_without_time_changes_nothing(name: str) -> None:
    x = drifting_shop()
    untimed = Interactions.from_csr(x.csr)
    users = np.arange(untimed.n_users)
    plain = registry.create(name, **QUICK[name]).fit(untimed).score(users)
    decay = registry.create(name, **QUICK[name], half_life_days=7.0).fit(untimed).score(users)
    np.testing.assert_allclose(decay, plain, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["ease", "itemknn"])
def test_decay_survives_save_and_load(name: str, tmp_path: Path) -> None:
    data = drifting_shop()
    model = registry.create(name, **QUICK[name], half_life_days=7.0).fit(data)
    model.save(tmp_path / name)
    again = registry.get(name).load(tmp_path / name)
    users = np.arange(data.n_users)
    np.testing.assert_allclose(again.score(users), model.score(users), rtol=1e-6)


def test_trending_ranks_what_sells_now() -> None:
    rows = [(f"old{u}", "hit_of_last_year", 0) for u in range(10)]
    rows += [(f"new{u}", "trend", 365) for u in range(3)]
    data = frame(rows)
    users = np.array([0])
    pop_top, _ = registry.create("popularity").fit(data).recommend(users, k=1, exclude_seen=False)
    trend_top, _ = (
        registry.create("trending", half_life_days=30.0)
        .fit(data)
        .recommend(users, k=1, exclude_seen=False)
    )
    assert data.item_map.to_ids(pop_top[0])[0] == "hit_of_last_year"
    assert data.item_map.to_ids(trend_top[0])[0] == "trend"
