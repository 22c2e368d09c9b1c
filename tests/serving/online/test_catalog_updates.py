"""Catalog writes on SQLite and PostgreSQL: out-of-stock, hidden and deleted items vanish at
once, partial updates keep other fields, new items are scored from their attributes."""

from __future__ import annotations

from nextbuy.store import EventStore
from tests.serving.online.conftest import KEY, AppFactory, OnlineShop, purchases, rec_ids


def everywhere(client, item: str, user: str, anchor: str, **params) -> dict[str, bool]:
    """Whether ``item`` shows in the user's list, the popular list and an item's similar list."""
    k = 200
    rec = rec_ids(client.post("/recommend", json={"user_id": user, "k": k, **params}))
    query = {"k": k, **params}
    pop = [x["item_id"] for x in client.get("/popular", params=query).json()["items"]]
    sim = client.get(f"/items/{anchor}/similar", params=query).json()["items"]
    similar = [x["item_id"] for x in sim]
    return {"recommend": item in rec, "popular": item in pop, "similar": item in similar}


def test_an_item_marked_out_of_stock_vanishes(
    online_app: AppFactory, database_url: str, online_shop: OnlineShop
):
    with online_app(database_url) as client:
        user = "window-shopper"
        client.post("/events", json=purchases(user, online_shop.category_items("Books")[:3]))
        top = rec_ids(client.post("/recommend", json={"user_id": user, "k": 5}))[0]
        anchor = online_shop.category_items("Books")[5]
        assert all(everywhere(client, top, user, anchor).values())
        r = client.put(f"/items/{top}", json={"in_stock": False}, headers=KEY)
        assert r.status_code == 200 and r.json()["in_stock"] is False
        assert not any(everywhere(client, top, user, anchor).values())
        assert all(everywhere(client, top, user, anchor, include_out_of_stock=True).values())
        assert not any(everywhere(client, top, user, anchor, in_stock_only=True).values())
        client.put(f"/items/{top}", json={"in_stock": True}, headers=KEY)
        assert all(everywhere(client, top, user, anchor).values())


def test_hidden_and_deleted_items_never_come_back(
    online_app: AppFactory, database_url: str, online_shop: OnlineShop
):
    popular = online_shop.events["item_id"].value_counts().index[:2].tolist()
    with online_app(database_url) as client:
        r = client.post(
            "/items",
            json={"items": [{"item_id": popular[0], "hidden": True},
                            {"item_id": popular[1], "deleted": True}]},
            headers=KEY,
        )  # fmt: skip
        assert r.status_code == 200 and r.json()["new_items"] == 0
        anchor = online_shop.items["item_id"].iloc[-1]
        for item in popular:
            assert not any(
                everywhere(client, item, "anyone", anchor, include_out_of_stock=True).values()
            )
        detail = client.get(f"/items/{popular[1]}").json()
        assert detail["deleted"] is True and detail["hidden"] is True


def test_partial_updates_keep_other_fields_and_survive_a_restart(
    online_app: AppFactory, database_url: str, online_shop: OnlineShop
):
    item = online_shop.items.iloc[3]
    with online_app(database_url) as client:
        r = client.put(f"/items/{item.item_id}", json={"price": 1.25}, headers=KEY)
        body = r.json()
        assert (body["name"], body["brand"], body["price"]) == (item["name"], item["brand"], 1.25)
        assert (
            client.put(f"/items/{item.item_id}", json={"name": "Renamed"}, headers=KEY).json()[
                "price"
            ]
            == 1.25
        )
    with online_app(database_url) as client:  # re-applied from the store at start-up
        body = client.get(f"/items/{item.item_id}").json()
        assert (body["name"], body["price"]) == ("Renamed", 1.25)
    store = EventStore(database_url)
    [row] = store.items([item.item_id])
    store.close()
    assert row["brand"] is None  # never set through the API: the trained catalog's value shows


def test_first_change_of_a_trained_out_of_stock_item_keeps_it_out(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop
):
    out = online_shop.items.loc[~online_shop.items["in_stock"], "item_id"].iloc[0]
    with online_app(sqlite_url) as client:
        body = client.put(f"/items/{out}", json={"price": 3.0}, headers=KEY).json()
        assert body["in_stock"] is False


def test_a_new_item_is_recommended_and_similar_from_its_attributes(
    online_app: AppFactory, database_url: str, online_shop: OnlineShop
):
    books = online_shop.items[online_shop.items["category"] == "Books"]
    brand = books["brand"].mode().iloc[0]
    new = {"item_id": "book-new-1", "name": "Illustrated Mystery Novel", "brand": brand,
           "category": "Books", "price": 14.0}  # fmt: skip
    with online_app(database_url) as client:
        client.post("/events", json=purchases("bookworm", books["item_id"].tolist()[:4]))
        assert "book-new-1" not in rec_ids(
            client.post("/recommend", json={"user_id": "bookworm", "k": 30})
        )
        r = client.put("/items/book-new-1", json={k: v for k, v in new.items() if k != "item_id"},
                       headers=KEY)  # fmt: skip
        assert r.status_code == 200 and r.json()["new"] is True
        recs = rec_ids(client.post("/recommend", json={"user_id": "bookworm", "k": 30}))
        assert "book-new-1" in recs
        similar = client.get("/items/book-new-1/similar", params={"k": 5}).json()
        assert similar["method"] == "cosine"
        cats = [x["category"] for x in similar["items"]]
        assert cats.count("Books") >= 4, cats
        # and a trained book's similar list can hold it
        anchor = similar["items"][0]["item_id"]
        back = client.get(f"/items/{anchor}/similar", params={"k": 20}).json()["items"]
        assert "book-new-1" in [x["item_id"] for x in back]
        # a user who bought it has it excluded; events on it are kept
        client.post("/events", json=purchases("bookworm", ["book-new-1"], prefix="n"))
        assert "book-new-1" not in rec_ids(
            client.post("/recommend", json={"user_id": "bookworm", "k": 30})
        )
        assert client.get("/metrics").text.count("nextbuy_new_items 1.0") == 1


def test_new_items_in_models_without_vectors_use_attribute_weights(
    online_app: AppFactory, sqlite_url: str, online_shop: OnlineShop
):
    with online_app(sqlite_url, "ease") as client:
        tent = {"item_id": "tent-x", "name": "Ultralight 2-Person Tent", "category": "Camping",
                "price": 199.0}  # fmt: skip
        r = client.post("/items", json=[tent], headers=KEY)
        assert r.json()["new_items"] == 1
        similar = client.get("/items/tent-x/similar", params={"k": 5}).json()
        assert similar["method"] == "attributes"
        assert [x["category"] for x in similar["items"]].count("Camping") >= 4
        pred = client.post("/predict/rating", json={"user_id": "nobody", "item_id": "tent-x"})
        assert pred.status_code == 200


def test_catalog_writes_need_the_api_key(online_app: AppFactory, sqlite_url: str):
    with online_app(sqlite_url) as client:
        assert client.put("/items/p00001", json={"in_stock": False}).status_code == 401
        wrong = {"X-API-Key": "nope"}
        assert client.post("/items", json=[{"item_id": "p1"}], headers=wrong).status_code == 403
        r = client.put("/items/p00001", json={"in_stok": False}, headers=KEY)  # typo: refused
        assert r.status_code == 422
        r = client.post("/items", json=[{"item_id": "a"}, {"price": -1}], headers=KEY)
        assert r.status_code == 422
        assert [(e["index"], e["field"]) for e in r.json()["errors"]] == [
            (1, "price"), (1, "item_id")
        ]  # fmt: skip


def test_changes_written_by_another_process_arrive_by_sync(
    online_app: AppFactory, database_url: str, online_shop: OnlineShop
):
    item = online_shop.events["item_id"].value_counts().index[0]
    with online_app(database_url) as client:
        assert item in [
            x["item_id"] for x in client.get("/popular", params={"k": 5}).json()["items"]
        ]
        other = EventStore(database_url)  # another worker or server on the same store
        other.upsert_items([{"item_id": item, "in_stock": False}])
        rows = purchases("elsewhere", online_shop.category_items("Books")[:4])
        other.add_events([{**row, "value": 1.0, "timestamp": 1_714_560_000} for row in rows])
        other.close()
        client.app.state.online.sync()  # what the background thread does every second
        assert item not in [
            x["item_id"] for x in client.get("/popular", params={"k": 5}).json()["items"]
        ]
        r = client.post("/recommend", json={"user_id": "elsewhere"}).json()
        assert r["strategy"] == "personalized"


def test_renaming_a_new_item_again_and_again_stays_cheap(online_app: AppFactory, sqlite_url: str):
    with online_app(sqlite_url) as client:
        for i in range(40):  # each rename recomputes the item's weights in place
            body = {"name": f"Camp Stove Mk {i}", "category": "Camping", "price": 20.0 + i}
            assert client.put("/items/stove", json=body, headers=KEY).status_code == 200
        live = client.app.state.service.snapshot.live
        assert live.n_new == 1 and len(live.weights_buffer) == 16
        assert client.get("/items/stove").json()["name"] == "Camp Stove Mk 39"
