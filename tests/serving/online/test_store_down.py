"""Reads never depend on the event store; writes fail fast while it is down or hanging.

PostgreSQL sits behind a proxy the tests take down (port closed), hang (accepts, never
answers) or bring back; the servers are real uvicorn processes on free ports.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, text

from nextbuy.serving.process import running_server
from nextbuy.store import EventStore
from tests.serving.conftest import API_KEY
from tests.serving.online.conftest import AppFactory, OnlineShop, pg_schema
from tests.serving.online.flaky import FlakyProxy

STALE = "x-nextbuy-online-state"


def call(
    url: str, method: str = "GET", body: Any = None, timeout: float = 30
) -> tuple[int, dict[str, str], Any]:
    """(status, lower-cased headers, JSON body) of one request on a fresh connection."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-API-Key": API_KEY}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, head, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, head, raw = exc.code, exc.headers, exc.read()
    return status, {k.lower(): v for k, v in head.items()}, json.loads(raw or b"null")


def wait_for(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


@pytest.fixture()
def proxied() -> Any:
    """A fresh PostgreSQL schema reached through a :class:`FlakyProxy` (starts ``down``)."""
    with pg_schema() as url:
        real = make_url(url)
        proxy = FlakyProxy((real.host or "127.0.0.1", real.port or 5432), mode="down")
        try:
            yield proxy, real.set(port=proxy.port).render_as_string(hide_password=False)
        finally:
            proxy.close()


def fast_env(url: str) -> dict[str, str]:
    return {
        "NEXTBUY_DATABASE_URL": url,
        "NEXTBUY_API_KEY": API_KEY,
        "NEXTBUY_STORE_CONNECT_TIMEOUT_S": "2",
        "NEXTBUY_STORE_RETRY_S": "0.5",
        "NEXTBUY_SYNC_INTERVAL_S": "0.2",
        "NEXTBUY_CACHE_SIZE": "0",
    }


@pytest.mark.postgres
def test_a_server_starts_serves_and_reloads_while_the_store_is_down(
    proxied: tuple[FlakyProxy, str], online_shop: OnlineShop, tmp_path: Path
):
    proxy, url = proxied
    models = tmp_path / "models"
    shutil.copytree(online_shop.root / "als", models / "als")
    user = str(online_shop.events["user_id"].iloc[0])
    log = tmp_path / "server.log"
    with running_server(models / "als", log, env=fast_env(url), workers=2, timeout=90) as srv:
        # started with the store down: reads answer from the model, marked stale
        status, _, ready = call(srv.url + "/ready")
        assert status == 200 and ready["store"]["state"] == "down"
        assert ready["store"]["writes"] is False
        assert call(srv.url + "/health")[2] == {"status": "ok"}
        for _ in range(6):  # both workers, the GET and the POST form
            status, head, body = call(srv.url + f"/recommend/{user}?k=5")
            assert status == 200 and body["strategy"] == "personalized"
            assert head[STALE] == "stale"
            status, head, _ = call(srv.url + "/recommend", "POST", {"user_id": user, "k": 5})
            assert status == 200 and head[STALE] == "stale"
        start = time.monotonic()
        status, head, body = call(srv.url + "/events", "POST", [{"user_id": user, "item_id": "x"}])
        assert status == 503 and int(head["retry-after"]) >= 1 and "retry" in body["detail"]
        assert time.monotonic() - start < 5

        proxy.set("up")  # the store comes back: writes work, answers are fresh again

        def recovered() -> bool:
            answers = [call(srv.url + f"/recommend/{user}?k=5") for _ in range(6)]
            return all(STALE not in head for _, head, _ in answers)

        wait_for(recovered)
        event = {"user_id": "back", "item_id": str(online_shop.events["item_id"].iloc[0])}
        assert call(srv.url + "/events", "POST", [event])[0] == 200
        assert call(srv.url + "/ready")[2]["store"] == {
            "state": "ok", "writes": True, "stale": False, "down_s": None
        }  # fmt: skip

        proxy.set("down")  # down again: reads still answer; a reload is refused clearly
        version = call(srv.url + "/model")[2]["version"]
        new = models / "als" / f"{version}-b"
        shutil.copytree(models / "als" / version, new)
        (models / "als" / "LATEST").write_text(new.name + "\n")
        status, head, body = call(srv.url + "/admin/reload", "POST")
        assert status == 503 and "retry-after" in head
        assert f"still serving {version}" in body["detail"]
        status, head, body = call(srv.url + "/recommend", "POST", {"user_id": "back", "k": 5})
        assert status == 200 and body["model_version"] == version and head[STALE] == "stale"
        time.sleep(2.0)  # ten sync rounds of 0.2 s while down
    lines = log.read_text().splitlines()
    # one traceback per worker and outage (two outages, two workers), not one per sync round
    with_traceback = [line for line in lines if "Traceback" in line]
    assert 1 <= len(with_traceback) <= 4, "\n".join(line[:300] for line in with_traceback)
    assert sum("event store unreachable" in line for line in lines) <= 4


@pytest.mark.postgres
def test_a_hanging_store_costs_seconds_not_the_server(
    proxied: tuple[FlakyProxy, str], online_shop: OnlineShop, tmp_path: Path
):
    proxy, url = proxied
    proxy.set("hang")  # accepts connections, never answers
    env = {**fast_env(url), "NEXTBUY_STORE_RETRY_S": "5"}
    start = time.monotonic()
    with running_server(online_shop.root / "als", tmp_path / "s.log", env=env, timeout=60) as srv:
        assert time.monotonic() - start < 45  # start-up does not hang for ever
        users = [str(u) for u in online_shop.events["user_id"].unique()[:20]]
        rows = [{"user_id": "h", "item_id": "p00001"}]

        def post(_: int) -> tuple[int, float]:
            t = time.monotonic()
            status, head, _ = call(srv.url + "/events", "POST", rows, timeout=60)
            assert status == 503 and "retry-after" in head
            return status, time.monotonic() - t

        with ThreadPoolExecutor(60) as pool:
            writes = [pool.submit(post, i) for i in range(60)]
            time.sleep(0.5)
            t = time.monotonic()
            status, _, body = call(srv.url + "/recommend/batch", "POST", {"user_ids": users})
            batch_s = time.monotonic() - t
            times = [w.result()[1] for w in writes]
        assert status == 200 and len(body["results"]) == 20
        assert batch_s < 5, batch_s
        assert max(times) < 10, max(times)  # a few seconds at most, then 503


def test_a_store_recreated_empty_is_migrated_again(online_app: AppFactory, sqlite_url: str):
    with online_app(sqlite_url) as client:
        store = EventStore(sqlite_url, migrate=False)
        with store.engine.begin() as conn:
            for table in _tables(conn):  # every table, as a database re-created empty
                conn.execute(text(f"DROP TABLE {table}"))
        store.close()
        r = client.post("/events", json=[{"user_id": "u-new", "item_id": "p00001"}])
        assert r.status_code == 200 and r.json()["stored"] == 1
        r = client.put("/items/p00002", json={"in_stock": False}, headers={"X-API-Key": API_KEY})
        assert r.status_code == 200
        ready = client.get("/ready").json()
        assert ready["store"]["state"] == "ok"
        assert client.get("/health").json() == {"status": "ok"}


def test_a_bad_store_url_still_stops_the_start_in_one_line(online_shop: OnlineShop):
    import subprocess
    import sys

    env = {**os.environ, "NEXTBUY_DATABASE_URL": "nosuchdriver://x@127.0.0.1/none"}
    proc = subprocess.run(
        [sys.executable, "-m", "nextbuy.serving", "--model-dir", str(online_shop.root / "als")],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "database URL" in proc.stderr


def test_the_store_migrates_again_when_its_tables_are_gone(database_url: str):
    store = EventStore(database_url)
    with store.engine.begin() as conn:
        for table in _tables(conn):  # every table, as a database re-created empty
            conn.execute(text(f"DROP TABLE {table}"))
    row = {"event_id": "e1", "user_id": "u", "item_id": "i", "event": "view", "value": 1.0,
           "timestamp": 1}  # fmt: skip
    assert store.add_events([row]).stored == 1
    assert [r[1:3] for r in store.events_after(0, 10)] == [("u", "i")]
    store.close()


def _tables(conn: Any) -> list[str]:
    """NextBuy's tables in this connection's schema, dependents first."""
    from sqlalchemy import inspect

    names = inspect(conn).get_table_names()
    return sorted(names, key=lambda name: name in ("nextbuy_events", "nextbuy_items"))
