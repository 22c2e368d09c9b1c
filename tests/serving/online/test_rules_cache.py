"""Business rules (repurchase, brand cap, boosts), explanations and the per-user answer cache."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from nextbuy.serving.ranking import top_ids
from tests.conftest import untag
from tests.serving.online.conftest import KEY, AppFactory, OnlineShop, purchases, rec_ids


def brands_of(client, user: str, k: int = 10, **options) -> list[str]:
    r = client.post("/recommend", json={"user_id": user, "k": k, **options})
    assert r.status_code == 200, r.text
    return [x["brand"] for x in r.json()["recommendations"]]


def test_purchases_are_excluded_except_in_repurchasable_categories(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop
):
    books = online_shop.category_items("Books")[:3]
    kitchen = online_shop.category_items("Kitchen")[:3]
    events = purchases("cook", books) + purchases("cook", kitchen, prefix="k")
    with online_app(sqlite_url, repurchasable_categories=["kitchen"]) as client:
        client.post("/events", json=events)
        body = {"user_id": "cook", "k": 120, "include_out_of_stock": True}
        got = set(rec_ids(client.post("/recommend", json=body)))
        assert not got & set(books)
        assert set(kitchen) <= got  # bought, but bought again and again
        # exclude_seen=false shows seen items, yet never what was bought (the rule)
        body = {**body, "exclude_seen": False}
        assert not set(rec_ids(client.post("/recommend", json=body))) & set(books)
    with online_app(sqlite_url, exclude_purchased=False) as client:
        assert set(books) <= set(rec_ids(client.post("/recommend", json=body)))


def test_at_most_n_items_per_brand(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop
):
    user = online_shop.events["user_id"].iloc[0]
    with online_app(sqlite_url, max_per_brand=1) as client:
        for who in (user, "stranger"):
            got = brands_of(client, who, k=10)
            assert len(got) == 10 and max(Counter(got).values()) == 1, got
        assert max(Counter(brands_of(client, user, k=10, categories=["Books"])).values()) == 1
        popular = [x["brand"] for x in client.get("/popular", params={"k": 8}).json()["items"]]
        assert max(Counter(popular).values()) == 1


def test_boost_and_bury_by_attribute(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop
):
    user = online_shop.events["user_id"].iloc[0]
    with online_app(sqlite_url) as client:
        plain = brands_of(client, user, k=10)
    sizes = Counter(online_shop.items["brand"])
    brand = next(b for b, n in sizes.most_common() if n >= 4 and plain.count(b) <= 1)
    with online_app(sqlite_url, boosts={"brand": {brand.upper(): 5.0}}) as client:
        boosted = brands_of(client, user, k=10)
        assert boosted.count(brand) >= 3 > plain.count(brand) + 1
        r = client.post("/recommend", json={"user_id": user, "k": 10}).json()
        scores = [x["score"] for x in r["recommendations"]]
        assert scores != sorted(scores, reverse=True)  # the model's scores, the boosted order
    top = plain[0]
    with online_app(sqlite_url, boosts={"brand": {top: -10.0}}) as client:
        assert top not in brands_of(client, user, k=5)


def test_top_ids_with_a_cap_widen_until_full():
    scores = np.array([[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]], dtype=np.float32)
    groups = np.array([0, 0, 0, 0, 0, 0, 0, 1, 2, -1])
    ids = top_ids(scores, 4, groups, cap=1)
    assert ids.tolist() == [[0, 7, 8, 9]]  # items without a group are never capped
    assert top_ids(scores, 4, groups, cap=None).tolist() == [[0, 1, 2, 3]]
    assert top_ids(np.full((1, 3), -np.inf, np.float32), 2).tolist() == [[-1, -1]]


@pytest.mark.parametrize("model", ["als", "ease", "itemknn"])
def test_explanations_name_the_users_past_items(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop, model: str
):
    books = online_shop.category_items("Books")[:4]
    with online_app(sqlite_url, model) as client:
        client.post("/events", json=purchases("curious", books))
        r = client.post("/recommend", json={"user_id": "curious", "k": 5, "explain": True})
        body = r.json()
        assert "explain_note" not in body
        for item in body["recommendations"]:
            assert item["because"], item
            assert {b["item_id"] for b in item["because"]} <= set(books)
            values = [b["contribution"] for b in item["because"]]
            assert values == sorted(values, reverse=True) and values[0] > 0
        get = client.get("/recommend/curious", params={"k": 5, "explain": "true"}).json()
        assert get["recommendations"][0]["because"] == body["recommendations"][0]["because"]
        user = online_shop.events["user_id"].iloc[0]  # a trained user, no events since
        known = client.post("/recommend", json={"user_id": user, "k": 3, "explain": True}).json()
        assert all(item["because"] for item in known["recommendations"])
        plain = client.post("/recommend", json={"user_id": "curious", "k": 5}).json()
        assert "because" not in plain["recommendations"][0]


def test_models_without_contributions_say_so(online_app: AppFactory, sqlite_url: str):
    with online_app(sqlite_url, "popularity") as client:
        client.post("/events", json=purchases("u", ["p00001"]))
        body = client.post("/recommend", json={"user_id": "u", "k": 3, "explain": True}).json()
        assert all(item["because"] == [] for item in body["recommendations"])
        assert "popularity does not break its scores down" in body["explain_note"]
        stranger = client.post("/recommend", json={"user_id": "x", "explain": True}).json()
        assert "explain_note" in stranger


def cache_counts(client) -> tuple[float, float]:
    lines = client.get("/metrics").text.splitlines()
    value = {
        line.split("{")[1].split('"')[1]: float(line.split()[-1])
        for line in lines
        if line.startswith("nextbuy_recommend_cache_total{")
    }
    return value.get("hit", 0.0), value.get("miss", 0.0)


def test_the_cache_serves_repeats_and_never_hides_a_change(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop
):
    user = online_shop.events["user_id"].iloc[0]
    with online_app(sqlite_url) as client:
        first = untag(client.post("/recommend", json={"user_id": user}).json())
        assert untag(client.post("/recommend", json={"user_id": user}).json()) == first
        assert untag(client.get(f"/recommend/{user}").json()) == first  # same options, same entry
        assert cache_counts(client) == (2.0, 1.0)
        assert "nextbuy_recommend_cache_hit_ratio 0.66" in client.get("/metrics").text
        client.post("/recommend", json={"user_id": user, "k": 3})  # other options: a miss
        assert cache_counts(client) == (2.0, 2.0)
        # the user's event invalidates
        client.post("/events", json=purchases(user, online_shop.category_items("Books")[:3]))
        changed = untag(client.post("/recommend", json={"user_id": user}).json())
        assert changed != first and cache_counts(client) == (2.0, 3.0)
        # a catalog change invalidates
        top = changed["recommendations"][0]["item_id"]
        client.put(f"/items/{top}", json={"in_stock": False}, headers=KEY)
        assert top not in rec_ids(client.post("/recommend", json={"user_id": user}))
        assert cache_counts(client) == (2.0, 4.0)
        # a reload (same version, forced) invalidates too
        client.app.state.service.load(force=True)
        client.post("/recommend", json={"user_id": user})
        assert cache_counts(client) == (2.0, 5.0)


def test_the_cache_can_be_turned_off(online_app: AppFactory, sqlite_url: str):
    with online_app(sqlite_url, cache_size=0) as client:
        client.post("/recommend", json={"user_id": "a"})
        client.post("/recommend", json={"user_id": "a"})
        assert cache_counts(client) == (0.0, 0.0)


def test_rules_and_stock_apply_without_the_event_store(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop
):
    out = set(online_shop.items.loc[~online_shop.items["in_stock"], "item_id"])
    assert out
    with online_app(sqlite_url, online=False, max_per_brand=2) as client:
        items = client.get("/popular", params={"k": 30}).json()["items"]
        assert not {x["item_id"] for x in items} & out
        assert max(Counter(x["brand"] for x in items).values()) == 2
        user = online_shop.events["user_id"].iloc[0]
        assert not set(rec_ids(client.post("/recommend", json={"user_id": user, "k": 50}))) & out
