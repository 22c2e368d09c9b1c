"""Issue 10 (items 1, 2, 5, 8-12): each reproduction of the audit, on the real app and store.

Bounded event values and training on what a bad writer stored; /events JSON-only with its
optional write key and CORS; one ID rule on SQLite and PostgreSQL; training paths inside the
data folder; no internals in answers; users x k bounded; the OpenAPI document; a committed
batch never answers 500.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from nextbuy.errors import DataError
from nextbuy.serving.app import create_app
from nextbuy.serving.process import running_server
from nextbuy.serving.settings import ServingSettings
from nextbuy.store import EventStore
from tests.serving.conftest import API_KEY
from tests.serving.online.conftest import KEY, AppFactory, OnlineShop, purchases, rec_ids

USER = "u00010"


def event(value: object, event_type: str = "purchase", **extra: object) -> dict:
    return {"user_id": USER, "item_id": "p00001", "event": event_type, "value": value, **extra}


# ---------------------------------------------------------------------- 1. bounded values
def test_huge_or_out_of_scale_values_are_422_and_the_user_keeps_answers(
    online_app: AppFactory, database_url: str
):
    with online_app(database_url) as client:
        before = rec_ids(client.get(f"/recommend/{USER}"))
        for value in (1e308, 1e30, 1001, -1, 0):
            r = client.post("/events", json=[event(1), event(value)])
            assert r.status_code == 422, (value, r.text)
            assert r.json()["errors"][0]["index"] == 1
            assert r.json()["errors"][0]["field"] == "value"
        assert "at most 1000" in client.post("/events", json=event(1e308)).text
        assert client.app.state.online.store.count_events() == 0
        assert rec_ids(client.get(f"/recommend/{USER}")) == before != []
        assert client.post("/events", json=event(1000)).status_code == 200


def test_ratings_outside_the_models_scale_are_422(online_app: AppFactory, sqlite_url: str):
    with online_app(sqlite_url, model="mf") as client:
        for value in (-5, 0, 1e308, 5.5):
            r = client.post("/events", json=event(value, "rating"))
            assert r.status_code == 422, (value, r.text)
            assert "between 1 and 5" in r.json()["errors"][0]["message"]
        assert client.post("/events", json=event(4, "rating")).status_code == 200
    with online_app(sqlite_url, model="mf", rating_range=(0, 10)) as client:  # configurable
        assert client.post("/events", json=event(9, "rating")).status_code == 200


def stored_outliers(url: str, rows: list[tuple[str, str, float]]) -> None:
    """Rows as a server without the bound stored them (the store itself takes any float)."""
    store = EventStore(url)
    now = int(time.time())
    store.add_events(
        [
            {
                "event_id": f"old-{i}",
                "user_id": u,
                "item_id": "p00001",
                "event": e,
                "value": v,
                "timestamp": now,
            }
            for i, (u, e, v) in enumerate(rows)
        ]  # fmt: skip
    )
    store.close()


def test_training_clips_stored_outliers_and_never_makes_nan_factors(
    online_shop: OnlineShop, tmp_path: Path
):
    from nextbuy.artifacts import load_artifact
    from nextbuy.training import train_model

    url = f"sqlite:///{tmp_path / 'events.db'}"
    rows = [(f"u{i:03d}", "view", 1.0) for i in range(30)] + [("u001", "purchase", 1e308)]
    rows += [(f"u{i:03d}", "cart", 2.0) for i in range(30)] + [("u002", "view", 1e30)]
    stored_outliers(url, rows)
    result = train_model(None, model="als", database_url=url, out=tmp_path / "models",
                         params={"factors": 4, "iterations": 2}, split="none")  # fmt: skip
    assert "clipped 2 stored values above 1000" in result.feedback
    model = load_artifact(result.version_dir).model
    assert np.isfinite(model.user_factors_).all() and np.isfinite(model.item_factors_).all()


def test_training_refuses_stored_ratings_outside_the_scale_naming_the_rows(tmp_path: Path):
    from nextbuy.training import train_model

    url = f"sqlite:///{tmp_path / 'events.db'}"
    stored_outliers(url, [(f"u{i}", "rating", 4.0) for i in range(20)] + [("u1", "rating", 1e308)])
    with pytest.raises(DataError, match=r"outside -1000 to 1000 \(event store ids 21\)"):
        train_model(None, model="mf", database_url=url, out=tmp_path / "models", split="none")


# ---------------------------------------------------------------------- 2. content type, key
@pytest.mark.parametrize(
    "headers",
    [{"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"}, {}],
)
def test_events_refuse_bodies_that_are_not_declared_json(
    online_app: AppFactory, sqlite_url: str, headers: dict
):
    body = b'[{"user_id":"u00010","item_id":"p00001"}]'
    with online_app(sqlite_url) as client:
        r = client.post("/events", content=body, headers=headers)
        assert r.status_code == 415, r.text
        assert "application/json" in r.json()["detail"]
        assert client.app.state.online.store.count_events() == 0
        ok = client.post("/events", content=body, headers={"content-type": "application/json"})
        assert ok.status_code == 200


def test_unknown_fields_of_an_event_are_refused_by_name(online_app: AppFactory, sqlite_url: str):
    with online_app(sqlite_url) as client:
        r = client.post("/events", json=[event(1), {**event(1), "evnt": "purchase"}])
        assert r.status_code == 422
        assert r.json()["errors"] == [
            {
                "index": 1,
                "field": "evnt",
                "message": "Extra inputs are not permitted",
                "type": "extra_forbidden",
            }  # fmt: skip
        ]
        assert client.app.state.online.store.count_events() == 0


def test_no_cors_headers_by_default(online_app: AppFactory, sqlite_url: str):
    with online_app(sqlite_url) as client:
        r = client.options(
            "/events",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in r.headers
        assert client.post("/events", json=event(1)).status_code == 200  # no key: open


def test_write_key_and_cors_on_a_live_server(online_shop: OnlineShop, tmp_path: Path):
    root = tmp_path / "models"
    shutil.copytree(online_shop.root / "als", root / "als")
    env = {
        "NEXTBUY_EVENTS_WRITE_KEY": "write-key-123",
        "NEXTBUY_CORS_ORIGINS": '["https://shop.example"]',
        "NEXTBUY_API_KEY": "admin-key-456",
    }
    with running_server(root / "als", tmp_path / "server.log", env=env) as server:
        url = server.url + "/events"
        assert httpx.post(url, json=event(1)).status_code == 401
        assert httpx.post(url, json=event(1), headers={"X-Write-Key": "nope"}).status_code == 403
        assert httpx.post(url, json=event(1), headers={"X-Write-Key": "write-key-123"}).is_success
        assert httpx.post(url, json=event(1), headers={"X-API-Key": "admin-key-456"}).is_success
        plain = httpx.post(
            url,
            content=b"{}",
            headers={"X-Write-Key": "write-key-123", "content-type": "text/plain"},
        )
        assert plain.status_code == 415
        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type,x-write-key"}  # fmt: skip
        allowed = httpx.options(url, headers={"Origin": "https://shop.example", **preflight})
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        other = httpx.options(url, headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers
        assert httpx.get(server.url + f"/recommend/{USER}").status_code == 200  # reads stay open


# ---------------------------------------------------------------------- 5. one ID rule
BAD_IDS = ["a\x00b", "tab\there", "del\x7f", "\u0085next", "a/b", " ", "\ufeff"]


def test_bad_ids_are_422_with_the_row_on_every_backend(online_app: AppFactory, database_url: str):
    with online_app(database_url) as client:
        for bad in BAD_IDS:
            for field in ("user_id", "item_id"):
                rows = [event(1) for _ in range(5)]
                rows[3] = {**rows[3], field: bad}
                r = client.post("/events", json=rows)
                assert r.status_code == 422, (bad, field, r.text)
                assert [(e["index"], e["field"]) for e in r.json()["errors"]] == [(3, field)]
            r = client.post("/items", json=[{"item_id": "ok"}, {"item_id": bad}], headers=KEY)
            assert r.status_code == 422 and r.json()["errors"][0]["index"] == 1, (bad, r.text)
        assert client.app.state.online.store.count_events() == 0
        r = client.put("/items/bad%09id", json={"name": "x"}, headers=KEY)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["path", "item_id"]


def test_surrounding_spaces_and_boms_are_removed(online_app: AppFactory, database_url: str):
    with online_app(database_url) as client:
        body = {"user_id": "\ufeff  u-new  ", "item_id": " p00001\t", "event": "purchase"}
        assert client.post("/events", json=body).status_code == 200
        stored = client.app.state.online.store.events_frame()
        assert stored[["user_id", "item_id"]].values.tolist() == [["u-new", "p00001"]]
        assert "p00001" not in rec_ids(client.get("/recommend/u-new"))  # bought: left out


# ---------------------------------------------------------------------- 8, 9. paths, internals
def test_train_reads_only_the_data_folder_and_says_nothing_of_other_files(
    online_shop: OnlineShop, tmp_path: Path
):
    shutil.copytree(online_shop.root / "als", tmp_path / "models" / "als")
    data = tmp_path / "data"  # the default: the models folder's sibling
    data.mkdir()
    (data / "foreign.csv").write_text("password,api_token\nhunter2,abc\n")
    settings = ServingSettings(
        model_dir=tmp_path / "models" / "als", api_key=API_KEY, blas_threads=None,
        sync_interval_s=0,
    )  # fmt: skip
    with TestClient(create_app(settings)) as client:
        answers = {p: client.post("/train", json={"data": p}, headers=KEY).json()["detail"]
                   for p in ("/etc/shadow", "/etc/no-such-file", "../../etc/passwd")}  # fmt: skip
        assert all("outside the data folder" in a for a in answers.values()), answers
        assert answers["/etc/shadow"].replace("shadow", "X") == answers[
            "/etc/no-such-file"
        ].replace("no-such-file", "X")
        r = client.post("/train", json={"data": "foreign.csv", "model": "popularity"}, headers=KEY)
        assert r.status_code == 202, r.text
        job = r.json()
        deadline = time.monotonic() + 120
        while job["status"] not in ("succeeded", "failed") and time.monotonic() < deadline:
            time.sleep(0.3)
            job = client.get(job["status_url"], headers=KEY).json()
    assert job["status"] == "failed"
    shown = str(job)
    assert "password" not in shown and "api_token" not in shown
    assert str(data) not in shown and job["request"]["data"] == "foreign.csv"


def test_answers_name_no_server_internals(
    online_app: AppFactory, tmp_path: Path, online_shop: OnlineShop
):
    db = tmp_path / "events.db"
    with online_app(f"sqlite:///{db}") as client:
        card = client.get("/model").json()
        assert card["path"].startswith("als/") and str(online_shop.root) not in card["path"]
        with sqlite3.connect(db) as conn:  # the database refuses every write from now on
            conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON nextbuy_events BEGIN "
                "SELECT RAISE(ABORT, 'quota exceeded on db.internal:5432/shop'); END"
            )
        r = client.post("/events", json=event(1))
        assert r.status_code == 503 and "retry" in r.json()["detail"]
        for secret in ("db.internal", "quota", "sqlite", "OperationalError", str(tmp_path)):
            assert secret not in r.text


# ---------------------------------------------------------------------- 10. users x k
def test_batch_users_times_k_is_bounded_with_a_413_naming_the_limit(
    online_app: AppFactory, sqlite_url: str
):
    users = [f"u{i:05d}" for i in range(1000)]
    with online_app(sqlite_url) as client:
        r = client.post("/recommend/batch", json={"user_ids": users, "k": 1000})
        assert r.status_code == 413 and "the limit is 100,000" in r.json()["detail"]
        assert client.post("/recommend/batch", json={"user_ids": users, "k": 100}).is_success
    with online_app(sqlite_url, max_batch_answers=50) as client:
        assert client.post("/recommend/batch", json={"user_ids": users[:10], "k": 5}).is_success
        r = client.post("/recommend/batch", json={"user_ids": users[:10], "k": 6})
        assert r.status_code == 413 and "NEXTBUY_MAX_BATCH_ANSWERS" in r.json()["detail"]


# ---------------------------------------------------------------------- 11. OpenAPI
def test_openapi_publishes_models_resolvable_refs_and_every_status(
    online_app: AppFactory, sqlite_url: str
):
    with online_app(sqlite_url) as client:
        spec = client.get("/openapi.json").json()
        text = client.get("/openapi.json").text
    assert "#/$defs/" not in text
    ok = spec["paths"]["/recommend"]["post"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"$ref": "#/components/schemas/RecommendResponse"}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            for status, answer in op["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                assert schema != {"type": "string"}, (method, path, status)
            if "requestBody" in op:
                assert "413" in op["responses"], (method, path)
    events = spec["paths"]["/events"]["post"]
    assert "415" in events["responses"]
    assert events["requestBody"]["content"]["application/json"]["schema"]["properties"]


@pytest.mark.parametrize(("path", "raw"), [("/recommend", b"\xff\xfe{"), ("/events", b"{")])
def test_unparseable_bodies_are_422_with_errors(
    online_app: AppFactory, sqlite_url: str, path: str, raw: bytes
):
    with online_app(sqlite_url) as client:
        r = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"] and r.json()["errors"][0]["type"] == "json_invalid"


# ---------------------------------------------------------------------- 12. after the commit
def test_a_committed_batch_is_acknowledged_even_if_applying_it_fails(
    online_app: AppFactory, tmp_path: Path
):
    db = tmp_path / "events.db"
    with online_app(f"sqlite:///{db}") as client:
        with sqlite3.connect(db) as conn:  # another writer left a row the reader cannot use
            conn.execute(
                "INSERT INTO nextbuy_events (event_id, user_id, item_id, event, value, timestamp, "
                "received_at) VALUES ('foreign', 'u1', 'p00001', 'view', 'not a number', 1, ?)",
                (int(time.time() * 1000) + 1,),
            )
        r = client.post("/events", json=purchases(USER, ["p00002"], prefix="ok"))
        assert r.status_code == 200, r.text
        assert r.json() == {"received": 1, "stored": 1, "duplicates": 0}
        assert (
            client.post("/events", json=purchases(USER, ["p00002"], prefix="ok")).json()[
                "duplicates"
            ]
            == 1
        )  # stored for good: the retry is a duplicate
        assert client.get(f"/recommend/{USER}").status_code == 200
