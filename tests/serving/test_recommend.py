"""POST/GET /recommend and /recommend/batch: right answers, filters, fallbacks, limits."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import untag
from tests.serving.conftest import Shop, make_client


def user_with_history(shop: Shop, n: int = 0) -> str:
    """A known user with many interactions (the n-th most active)."""
    return str(shop.events["user_id"].value_counts().index[n])


def rec_ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["item_id"] for r in response.json()["recommendations"]]


def test_known_user_gets_the_models_top_k_without_seen_items(client: TestClient, shop: Shop):
    art = shop.artifact("als")
    user = user_with_history(shop)
    r = client.post("/recommend", json={"user_id": user, "n_recommendations": 7})
    body = r.json()
    assert body["strategy"] == "personalized"
    assert body["user_id"] == user
    assert body["model_version"] == art.version
    u = art.user_map.index_of(user)
    ids, scores = art.model.recommend([u], k=7, exclude=art.seen)
    assert rec_ids(r) == list(art.item_map.to_ids(ids[0]))
    got = [x["score"] for x in body["recommendations"]]
    np.testing.assert_allclose(got, scores[0], rtol=1e-5, atol=1e-6)
    assert [x["rank"] for x in body["recommendations"]] == list(range(1, 8))
    seen = set(shop.events.loc[shop.events.user_id == user, "item_id"])
    assert not seen & set(rec_ids(r))


def test_items_carry_catalog_fields(client: TestClient, shop: Shop):
    r = client.post("/recommend", json={"user_id": user_with_history(shop), "k": 3})
    catalog = shop.items.set_index("item_id")
    for item in r.json()["recommendations"]:
        row = catalog.loc[item["item_id"]]
        assert item["name"] == row["name"]
        assert item["brand"] == row["brand"]
        assert item["category"] == row["category"]
        assert item["price"] == pytest.approx(float(row["price"]))


def test_exclude_seen_false_can_return_seen_items(client: TestClient, shop: Shop):
    art = shop.artifact("als")
    user = user_with_history(shop)
    body = {"user_id": user, "k": 20, "exclude_seen": False, "include_out_of_stock": True}
    r = client.post("/recommend", json=body)
    ids, _ = art.model.recommend([art.user_map.index_of(user)], k=20, exclude_seen=False)
    assert rec_ids(r) == list(art.item_map.to_ids(ids[0]))


@pytest.mark.parametrize("field", ["n_recommendations", "num_recommendations", "k"])
def test_k_aliases(client: TestClient, shop: Shop, field: str):
    r = client.post("/recommend", json={"user_id": user_with_history(shop), field: 4})
    assert len(rec_ids(r)) == 4


def test_default_k_is_10_and_trailing_slash_answers(client: TestClient, shop: Shop):
    user = user_with_history(shop)
    plain = client.post("/recommend", json={"user_id": user})
    slash = client.post("/recommend/", json={"user_id": user})
    assert len(rec_ids(plain)) == 10
    assert rec_ids(slash) == rec_ids(plain)


def test_numeric_user_id_is_read_as_text(client: TestClient):
    r = client.post("/recommend", json={"user_id": 12345, "k": 2})
    assert r.status_code == 200
    assert r.json()["user_id"] == "12345"


def test_get_form_gives_the_same_answer(client: TestClient, shop: Shop):
    user = user_with_history(shop, 3)
    post = client.post("/recommend", json={"user_id": user, "k": 5, "categories": ["Books"]})
    get = client.get(f"/recommend/{user}", params={"k": 5, "category": "Books"})
    assert untag(get.json()) == untag(post.json())


def test_category_brand_and_stock_filters(client: TestClient, shop: Shop):
    user = user_with_history(shop)
    catalog = shop.items.set_index("item_id")
    cats = ["books", " TOYS "]  # case and spaces do not matter
    r = client.post("/recommend", json={"user_id": user, "k": 15, "categories": cats})
    assert {catalog.loc[i, "category"] for i in rec_ids(r)} <= {"Books", "Toys"}
    brand = str(catalog["brand"].value_counts().index[0])
    r = client.post("/recommend", json={"user_id": user, "k": 50, "brands": brand})
    assert rec_ids(r) and {catalog.loc[i, "brand"] for i in rec_ids(r)} == {brand}
    r = client.post("/recommend", json={"user_id": user, "k": 200, "in_stock_only": True})
    assert rec_ids(r) and catalog.loc[rec_ids(r), "in_stock"].astype(bool).all()


def test_filters_that_match_nothing_answer_an_empty_list(client: TestClient, shop: Shop):
    r = client.post("/recommend", json={"user_id": user_with_history(shop), "categories": ["x"]})
    assert rec_ids(r) == []


def test_exclude_item_ids(client: TestClient, shop: Shop):
    user = user_with_history(shop)
    first = rec_ids(client.post("/recommend", json={"user_id": user, "k": 5}))
    again = client.post(
        "/recommend", json={"user_id": user, "k": 5, "exclude_item_ids": [*first[:2], "nope"]}
    )
    assert rec_ids(again)[:3] == first[2:]
    assert not set(first[:2]) & set(rec_ids(again))


def test_unknown_user_gets_popular_items_as_fallback(client: TestClient):
    r = client.post("/recommend", json={"user_id": "never-seen", "k": 5, "categories": ["Books"]})
    body = r.json()
    assert body["strategy"] == "fallback"
    popular = client.get("/popular", params={"k": 5, "category": "Books"}).json()["items"]
    assert body["recommendations"] == popular
    metrics = client.get("/metrics").text
    assert 'nextbuy_fallbacks_total{endpoint="recommend"}' in metrics


def test_k_larger_than_the_catalog_returns_every_unseen_item(client: TestClient, shop: Shop):
    user = user_with_history(shop)
    r = client.post("/recommend", json={"user_id": user, "k": 1000, "include_out_of_stock": True})
    seen = set(shop.events.loc[shop.events.user_id == user, "item_id"])
    assert len(rec_ids(r)) == shop.items.shape[0] - len(seen)


# ---------------------------------------------------------------------- batch
def test_batch_answers_each_user_in_order(client: TestClient, shop: Shop):
    users = [user_with_history(shop, 0), "nobody", user_with_history(shop, 1), "nobody"]
    r = client.post("/recommend/batch", json={"user_ids": users, "k": 4, "categories": "Books"})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["user_id"] for x in results] == users
    assert [x["strategy"] for x in results] == ["personalized", "fallback"] * 2
    for user, result in zip(users, results, strict=True):
        single = client.post("/recommend", json={"user_id": user, "k": 4, "categories": "Books"})
        assert untag(result) == untag(single.json())


def test_batch_over_the_limit_is_refused(client: TestClient):
    r = client.post("/recommend/batch", json={"user_ids": [f"u{i}" for i in range(1001)]})
    assert r.status_code == 413
    assert "limit is 1000" in r.json()["detail"]


def test_batch_limit_is_configurable(shop: Shop):
    with make_client(shop.root / "als", max_batch_users=2, max_k=5) as c:
        assert c.post("/recommend/batch", json={"user_ids": ["a", "b", "c"]}).status_code == 413
        assert c.post("/recommend/batch", json={"user_ids": ["a", "b"], "k": 5}).status_code == 200
        r = c.post("/recommend", json={"user_id": "a", "k": 6})
        assert r.status_code == 422
        assert "at most 5" in r.json()["detail"]


# ---------------------------------------------------------------------- invalid input
@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "u", "k": 0},
        {"user_id": "u", "k": 1001},
        {"user_id": "u", "k": "many"},
        {"user_id": "u", "k": 2.5},
        {"user_id": "u", "exclude_seen": "perhaps"},
        {"user_id": ""},
        {"user_id": None},
        {"user_id": ["u"]},
        {"user_id": "x" * 257},
        {"k": 5},
        {"user_id": "u", "categories": [1, {"a": 2}]},
        [],
        "user",
    ],
)
def test_invalid_bodies_are_422(client: TestClient, body: object):
    r = client.post("/recommend", json=body)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


def test_malformed_json_is_422(client: TestClient):
    r = client.post(
        "/recommend", content=b'{"user_id": "u", ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


@pytest.mark.parametrize("query", ["k=0", "k=1001", "k=ten", "in_stock_only=maybe"])
def test_invalid_query_parameters_are_422(client: TestClient, query: str):
    assert client.get(f"/recommend/someone?{query}").status_code == 422


def test_batch_with_no_users_is_422(client: TestClient):
    assert client.post("/recommend/batch", json={"user_ids": []}).status_code == 422


# ---------------------------------------------------------------------- coalescing
def test_concurrent_requests_are_scored_together_with_the_same_answers(shop: Shop):
    """recommend_async batches users arriving in one event-loop turn; answers are unchanged."""
    from nextbuy.serving.options import RecommendOptions
    from nextbuy.serving.service import RecommendationService
    from nextbuy.serving.settings import ServingSettings

    service = RecommendationService(ServingSettings(model_dir=shop.root / "als"))
    service.load()
    model = service.snapshot.model
    calls: list[int] = []
    real_score = model.score

    def counting_score(users, user_items=None):
        calls.append(len(users))
        return real_score(users, user_items)

    model.score = counting_score  # the real scorer, counted
    users = [user_with_history(shop, n) for n in range(8)] + ["nobody"]
    options = [
        RecommendOptions(k=5),
        RecommendOptions(k=3, categories=["Books"]),
        RecommendOptions(k=4, exclude_seen=False),
    ]

    async def all_at_once():
        return await asyncio.gather(
            *(service.recommend_async(u, options[i % 3]) for i, u in enumerate(users))
        )

    together = asyncio.run(all_at_once())
    assert calls == [8]  # one product for the 8 known users; the unknown one needs none
    calls.clear()
    one_by_one = [service.recommend(u, options[i % 3]) for i, u in enumerate(users)]
    assert calls == [1] * 8
    # Same items; scores equal up to float32 summation order (one product vs one per user).
    for batched, single in zip(together, one_by_one, strict=True):
        assert rec_ids_of(batched) == rec_ids_of(single)
        assert batched["strategy"] == single["strategy"]
        np.testing.assert_allclose(
            [r["score"] for r in batched["recommendations"]],
            [r["score"] for r in single["recommendations"]],
            rtol=1e-5,
        )


def rec_ids_of(answer: dict) -> list[str]:
    return [r["item_id"] for r in answer["recommendations"]]
