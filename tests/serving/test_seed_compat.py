"""The seed's ``POST /reco`` with exactly the seed's request: the top 5 in the seed's shape."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.serving.conftest import Shop


def test_seed_request_gets_the_seed_answer(client: TestClient, shop: Shop):
    user = str(shop.events["user_id"].iloc[0])
    r = client.post("/reco", json={"user_id_hash": user})
    assert r.status_code == 200, r.text
    items = r.json()
    assert isinstance(items, list) and len(items) == 5
    assert all(list(item) == ["score", "item_name", "item_id", "brand"] for item in items)
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    rich = client.post("/recommend", json={"user_id": user, "k": 5}).json()["recommendations"]
    assert [i["item_id"] for i in items] == [i["item_id"] for i in rich]
    names = dict(zip(shop.items["item_id"], shop.items["name"], strict=True))
    assert all(item["item_name"] == names[item["item_id"]] for item in items)
    assert client.post("/reco/", json={"user_id_hash": user}).json() == items


def test_seed_request_for_an_unknown_user_and_a_bad_body(client: TestClient):
    r = client.post("/reco", json={"user_id_hash": "never-seen"})
    assert r.status_code == 200 and len(r.json()) == 5  # popular fallback, as the seed did
    assert client.post("/reco", json={"user": "x"}).status_code == 422
