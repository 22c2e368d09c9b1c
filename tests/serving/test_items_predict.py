"""Item routes (details, similar, popular) and rating prediction, explicit and implicit."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from nextbuy.retrieval import cosine_neighbours
from tests.serving.conftest import Shop, make_client


def popular_item(shop: Shop, n: int = 0) -> str:
    """The n-th most popular item by distinct users (ties by ID, like the server)."""
    counts = shop.events.groupby("item_id")["user_id"].nunique()
    return str(counts.sort_values(ascending=False, kind="stable").index[n])


# ---------------------------------------------------------------------- items
def test_item_details(client: TestClient, shop: Shop):
    item = popular_item(shop)
    body = client.get(f"/items/{item}").json()
    row = shop.items.set_index("item_id").loc[item]
    assert body["item_id"] == item
    assert (body["name"], body["brand"], body["category"]) == (
        row["name"], row["brand"], row["category"],
    )  # fmt: skip
    assert body["in_stock"] == bool(row["in_stock"])
    assert body["n_users"] == shop.events.loc[shop.events.item_id == item, "user_id"].nunique()
    assert body["popularity_rank"] == 1


@pytest.mark.parametrize("path", ["/items/nope", "/items/nope/similar"])
def test_unknown_item_is_404_with_a_sentence(client: TestClient, path: str):
    r = client.get(path)
    assert r.status_code == 404
    assert r.json()["detail"].startswith("unknown item 'nope'")


def test_similar_items_are_cosine_neighbours_of_item_vectors(client: TestClient, shop: Shop):
    art = shop.artifact("als")
    item = popular_item(shop, 2)
    params = {"k": 6, "include_out_of_stock": True}  # out-of-stock items are left out by default
    body = client.get(f"/items/{item}/similar", params=params).json()
    assert body["method"] == "cosine"
    got = [x["item_id"] for x in body["items"]]
    assert item not in got
    ids, scores = cosine_neighbours(
        art.model.item_vectors(), np.array([art.item_map.index_of(item)]), 6
    )
    assert got == list(art.item_map.to_ids(ids[0]))
    np.testing.assert_allclose([x["score"] for x in body["items"]], scores[0], atol=1e-5)


def test_similar_items_without_item_vectors_use_the_models_own(shop: Shop):
    item = popular_item(shop, 2)
    with make_client(shop.root / "popularity") as c:
        body = c.get(f"/items/{item}/similar", params={"k": 3}).json()
    assert body["method"] == "model"
    got = [x["item_id"] for x in body["items"]]
    assert len(got) == 3 and item not in got


def test_popular_items_with_filters(client: TestClient, shop: Shop):
    counts = (
        shop.events.groupby("item_id")["user_id"]
        .nunique()
        .sort_values(ascending=False, kind="stable")
    )
    body = client.get("/popular", params={"k": 5}).json()
    got = [x["item_id"] for x in body["items"]]
    artifact = shop.artifact("als")
    if artifact.fallback is None:  # plain counts: the share of training users per item
        assert got == list(counts.index[:5])
        share = counts.iloc[0] / shop.events["user_id"].nunique()
        assert body["items"][0]["score"] == pytest.approx(share, abs=1e-6)
    else:  # timed data: the artifact's trending list, as docs/api.md says
        ids = np.asarray(artifact.item_map.ids, dtype=object)
        order = np.argsort(-np.asarray(artifact.fallback), kind="stable")
        assert got == [str(i) for i in ids[order[:5]]]
        assert got != list(counts.index[:5])  # the shop's recent items lead, not all-time counts
    books = client.get("/popular", params={"k": 3, "category": ["Books", "Toys"]}).json()
    cats = shop.items.set_index("item_id").loc[[x["item_id"] for x in books["items"]], "category"]
    assert set(cats) <= {"Books", "Toys"}


@pytest.mark.parametrize("path", ["/popular?k=0", "/popular?k=5000", "/items/p1/similar?k=-1"])
def test_item_routes_reject_bad_k(client: TestClient, path: str):
    assert client.get(path).status_code == 422


# ---------------------------------------------------------------------- predictions
def test_implicit_model_predicts_a_score(client: TestClient, shop: Shop):
    art = shop.artifact("als")
    user, item = str(shop.events.user_id.iloc[0]), popular_item(shop, 5)
    body = client.post("/predict/rating", json={"user_id": user, "item_id": item}).json()
    assert body["kind"] == "score"
    assert body["strategy"] == "personalized"
    assert body["rating_range"] is None
    expected = art.model.predict(
        np.array([art.user_map.index_of(user)]), np.array([art.item_map.index_of(item)])
    )[0]
    assert body["prediction"] == pytest.approx(float(expected), abs=1e-5)


def test_explicit_model_predicts_a_rating_in_range(mf_client: TestClient, shop: Shop):
    art = shop.artifact("mf")
    low, high = float(shop.ratings.value.min()), float(shop.ratings.value.max())
    for user, item in shop.ratings[["user_id", "item_id"]].head(20).itertuples(index=False):
        r = mf_client.post("/predict/rating/", json={"user_id": user, "item_id": item})
        body = r.json()
        assert body["kind"] == "rating"
        assert body["rating_range"] == [low, high]
        assert low <= body["prediction"] <= high
        raw = float(art.model.predict(
            np.array([art.user_map.index_of(user)]), np.array([art.item_map.index_of(item)])
        )[0])  # fmt: skip
        assert body["prediction"] == pytest.approx(min(max(raw, low), high), abs=1e-5)
        assert body["clipped"] == (not low <= raw <= high)


def test_unknown_user_rating_falls_back_to_the_items_mean(mf_client: TestClient, shop: Shop):
    item = str(shop.ratings.item_id.iloc[0])
    body = mf_client.post("/predict/rating", json={"user_id": "new", "item_id": item}).json()
    assert body["strategy"] == "fallback"
    mean = shop.ratings.loc[shop.ratings.item_id == item, "value"].mean()
    assert body["prediction"] == pytest.approx(mean, abs=1e-5)


def test_rating_for_unknown_item_is_404(mf_client: TestClient, shop: Shop):
    user = str(shop.ratings.user_id.iloc[0])
    r = mf_client.post("/predict/rating", json={"user_id": user, "item_id": "p_missing"})
    assert r.status_code == 404
    assert "p_missing" in r.json()["detail"]


@pytest.mark.parametrize(
    "body", [{"user_id": "u"}, {"item_id": "i"}, {"user_id": "u", "item_id": ""}, {}]
)
def test_rating_needs_user_and_item(mf_client: TestClient, body: dict):
    assert mf_client.post("/predict/rating", json=body).status_code == 422
