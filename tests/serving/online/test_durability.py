"""Durability: kill -9 the real server while a client posts batches; after a restart every
acknowledged event is stored and no batch is half stored."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from nextbuy.store import EventStore
from tests.serving.conftest import serve
from tests.serving.online.conftest import OnlineShop

BATCH = 100


def batch(n: int, items: list[str]) -> list[dict]:
    return [
        {"event_id": f"b{n:05d}-{i:03d}", "user_id": f"kill-user-{n % 7}",
         "item_id": items[(n + i) % len(items)], "event": "view"}
        for i in range(BATCH)
    ]  # fmt: skip


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_event_and_halves_no_batch(
    online_shop: OnlineShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    db = tmp_path / "events.db"
    monkeypatch.setenv("NEXTBUY_DATABASE_URL", f"sqlite:///{db}")
    items = online_shop.items["item_id"].tolist()
    acknowledged: list[int] = []
    attempted: list[int] = []
    stop = threading.Event()

    def client(url: str) -> None:
        with httpx.Client(base_url=url, timeout=5) as http:
            n = 0
            while not stop.is_set():
                attempted.append(n)
                try:
                    r = http.post("/events", json={"events": batch(n, items)})
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200:
                    acknowledged.append(n)
                n += 1

    with serve(online_shop.root / "als", tmp_path / "server.log") as server:
        thread = threading.Thread(target=client, args=(server.url,), daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 30 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.process.kill()  # SIGKILL mid-stream: no shutdown, no flush
        server.process.wait()
        stop.set()
        thread.join(timeout=10)
    assert len(acknowledged) >= 30, "the client got too few answers before the kill"

    with serve(online_shop.root / "als", tmp_path / "server2.log") as server:
        store = EventStore(f"sqlite:///{db}")
        frame = store.events_frame()
        store.close()
        per_batch = frame["event_id"].str[:6].value_counts()
        for n in acknowledged:
            assert per_batch.get(f"b{n:05d}", 0) == BATCH, f"acknowledged batch {n} incomplete"
        assert set(per_batch.to_numpy().tolist()) <= {BATCH}, "a batch was half stored"
        assert len(per_batch) <= len(attempted)
        # and the restarted server serves from them
        r = httpx.post(server.url + "/recommend", json={"user_id": "kill-user-1"}, timeout=10)
        assert r.json()["strategy"] == "personalized"


@pytest.mark.slow
def test_with_several_workers_every_worker_answers_from_the_new_events(
    online_shop: OnlineShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("NEXTBUY_DATABASE_URL", f"sqlite:///{tmp_path / 'events.db'}")
    books = online_shop.category_items("Books")
    with serve(online_shop.root / "als", tmp_path / "server.log", workers=2) as server:
        # a new connection per request, so the requests spread over the workers
        http = httpx.Client(
            base_url=server.url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
        )
        for round_ in range(3):
            user = f"multi-{round_}"
            events = [{"event_id": f"{user}-{i}", "user_id": user, "item_id": item,
                       "event": "purchase"} for i, item in enumerate(books[:4])]  # fmt: skip
            assert http.post("/events", json=events).status_code == 200
            for _ in range(10):  # whichever worker answers, it knows the events
                body = http.post("/recommend", json={"user_id": user}).json()
                assert body["strategy"] == "personalized"
        http.close()
