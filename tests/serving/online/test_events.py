"""POST /events on SQLite and PostgreSQL: commit before the answer, idempotent retries,
all-or-nothing batches with per-row errors, limits, and no 500 for any body."""

from __future__ import annotations

import pytest

from nextbuy.store import EventStore
from nextbuy.store.events import StoreError
from tests.serving.online.conftest import AppFactory, OnlineShop, purchases


def stored(url: str) -> list[str]:
    store = EventStore(url)
    try:
        return store.events_frame()["event_id"].tolist()
    finally:
        store.close()


def test_a_batch_is_stored_before_the_answer(
    online_app: AppFactory, database_url: str, online_shop: OnlineShop
):
    items = online_shop.items["item_id"].tolist()[:3]
    with online_app(database_url) as client:
        r = client.post("/events", json={"events": purchases("u1", items)})
        assert r.status_code == 200
        assert r.json() == {"received": 3, "stored": 3, "duplicates": 0}
        assert stored(database_url) == ["e-u1-0", "e-u1-1", "e-u1-2"]  # committed already


def test_a_retried_batch_stores_nothing_twice(
    online_app: AppFactory, database_url: str, online_shop: OnlineShop
):
    items = online_shop.items["item_id"].tolist()[:4]
    with online_app(database_url) as client:
        assert client.post("/events", json=purchases("u1", items[:3])).json()["stored"] == 3
        again = client.post("/events", json=purchases("u1", items)).json()
        assert again == {"received": 4, "stored": 1, "duplicates": 3}
        assert len(stored(database_url)) == 4
        body = client.get("/metrics").text
        assert 'nextbuy_events_total{outcome="duplicate"} 3.0' in body


def test_an_invalid_row_refuses_the_whole_batch_naming_index_and_field(
    online_app: AppFactory, database_url: str, online_shop: OnlineShop
):
    rows = purchases("u1", online_shop.items["item_id"].tolist()[:5])
    rows[1] = {**rows[1], "user_id": ""}
    rows[3] = {**rows[3], "event": "teleport"}
    del rows[4]["item_id"]
    with online_app(database_url) as client:
        r = client.post("/events", json={"events": rows})
        assert r.status_code == 422
        body = r.json()
        assert body["detail"] == "3 of 5 rows are invalid; nothing was stored"
        assert [(e["index"], e["field"]) for e in body["errors"]] == [
            (1, "user_id"),
            (3, "event"),
            (4, "item_id"),
        ]
        assert "teleport" in body["errors"][1]["message"]
    assert stored(database_url) == []


def test_one_event_a_bare_list_and_defaults(
    online_app: AppFactory, database_url: str, online_shop: OnlineShop
):
    item = online_shop.items["item_id"].iloc[0]
    with online_app(database_url) as client:
        one = {"event_id": "solo", "user_id": 7, "item_id": item}  # numbers are IDs as text
        assert client.post("/events", json=one).json()["stored"] == 1
        assert client.post("/events/", json=[{"user_id": "u", "item_id": item}]).status_code == 200
        # no event_id: the server makes one up, so a retry is stored again (documented)
        assert (
            client.post("/events", json=[{"user_id": "u", "item_id": item}]).json()["stored"] == 1
        )
    store = EventStore(database_url)
    frame = store.events_frame()
    store.close()
    assert frame["user_id"].tolist() == ["7", "u", "u"]
    assert frame["event"].tolist() == ["view"] * 3
    assert frame["value"].tolist() == [1.0] * 3
    assert frame["event_id"].str.startswith("srv-").sum() == 2


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"event": "rating"}, "value"),  # a rating needs its value
        ({"value": 0}, "value"),  # implicit strength must be > 0
        ({"value": "NaN"}, "value"),
        ({"timestamp": 1_714_560_000_000}, "timestamp"),  # milliseconds by mistake
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"event_id": "x" * 129}, "event_id"),
        ({"item_id": ["a"]}, "item_id"),
    ],
)
def test_row_rules(online_app: AppFactory, sqlite_url: str, row: dict, field: str):
    with online_app(sqlite_url) as client:
        body = {"user_id": "u", "item_id": "p00001", **row}
        r = client.post("/events", json=[body])
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"].split(".")[0] == field


def test_timestamps_as_epoch_seconds_or_iso(online_app: AppFactory, sqlite_url: str):
    with online_app(sqlite_url) as client:
        rows = [
            {"event_id": "a", "user_id": "u", "item_id": "p1", "timestamp": 1_714_560_000},
            {"event_id": "b", "user_id": "u", "item_id": "p1", "timestamp": "2024-05-01T10:40:00Z"},
            {"event_id": "c", "user_id": "u", "item_id": "p1", "event": "rating", "value": 4},
        ]
        assert client.post("/events", json=rows).status_code == 200
    store = EventStore(sqlite_url)
    frame = store.events_frame().set_index("event_id")
    store.close()
    assert frame.loc["a", "timestamp"] == frame.loc["b", "timestamp"] == 1_714_560_000
    assert frame.loc["c", "value"] == 4.0


def test_batch_limits(online_app: AppFactory, sqlite_url: str):
    with online_app(sqlite_url, max_events_per_request=5) as client:
        rows = purchases("u", [f"p{i}" for i in range(6)])
        r = client.post("/events", json=rows)
        assert r.status_code == 413 and "limit is 5" in r.json()["detail"]
        assert client.post("/events", json=[]).status_code == 422
    assert stored(sqlite_url) == []


def test_a_batch_of_10000_fits_the_body_limit(online_app: AppFactory, sqlite_url: str):
    rows = purchases("a-rather-long-user-identifier", [f"item-{i:08d}" for i in range(10_000)])
    with online_app(sqlite_url) as client:
        r = client.post("/events", json={"events": rows})
        assert r.status_code == 200 and r.json()["stored"] == 10_000
        assert client.post("/events", json=rows + rows[:1]).status_code == 413


def test_a_failed_commit_is_503_and_applies_nothing(
    online_app: AppFactory, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
):
    with online_app(sqlite_url) as client:
        online = client.app.state.online

        def broken(rows: list) -> None:
            raise StoreError("could not store the batch: disk I/O error")

        monkeypatch.setattr(online.store, "add_events", broken)
        r = client.post("/events", json=purchases("u", ["p00001"]))
        assert r.status_code == 503
        assert "nothing of the batch was stored" in r.json()["detail"]
        assert client.app.state.service.snapshot.histories.get("u") is None


def test_read_only_server_answers_503(online_app: AppFactory, sqlite_url: str):
    with online_app(sqlite_url, online=False) as client:
        r = client.post("/events", json=purchases("u", ["p00001"]))
        assert r.status_code == 503 and "NEXTBUY_ONLINE=false" in r.json()["detail"]
        assert client.post("/recommend", json={"user_id": "u"}).status_code == 200


ODD = [None, True, 0, -1, 10**30, 1.5, "", "x" * 5000, "ü🙂\u0000", [], {}, [None], {"$gt": ""}]
RAW = [b"", b"null", b"[]", b"{", b"NaN", b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b'"text"', b"7"]


def test_no_body_makes_the_server_answer_500(online_app: AppFactory, sqlite_url: str):
    base = {"event_id": "e", "user_id": "u", "item_id": "p00001", "event": "view", "value": 1,
            "timestamp": 1_714_560_000}  # fmt: skip
    with online_app(sqlite_url) as client:
        for field in base:
            for value in ODD:
                for body in ({**base, field: value}, {"events": [{**base, field: value}]}):
                    r = client.post("/events", json=body)
                    assert r.status_code < 500, (field, value, r.text)
        for raw in RAW:
            r = client.post("/events", content=raw, headers={"content-type": "application/json"})
            assert r.status_code in (413, 422), (raw[:20], r.status_code)
        item = {"item_id": "fz", "name": "n", "brand": "b", "category": "c", "price": 1.0,
                "in_stock": True, "hidden": False, "deleted": False}  # fmt: skip
        key = {"X-API-Key": "test-key-0123456789"}
        for field in item:
            for value in ODD:
                body = {**item, field: value}
                r = client.post("/items", json={"items": [body]}, headers=key)
                assert r.status_code < 500, (field, value, r.text)
                del body["item_id"]
                r = client.put("/items/fz", json=body, headers=key)
                assert r.status_code < 500, (field, value, r.text)
        assert client.post("/recommend", json={"user_id": "u00001"}).status_code == 200
