"""The real server process over HTTP: endpoints, logs, no torch, reload under concurrent load."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import API_KEY, LiveServer, Shop, serve, train_and_save


def test_real_server_answers_over_http(live_server: LiveServer, shop: Shop):
    user = str(shop.events.user_id.iloc[0])
    item = str(shop.events.item_id.iloc[0])
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        r = http.post("/recommend", json={"user_id": user, "k": 5}, headers={"X-Request-ID": "t1"})
        assert r.status_code == 200
        assert r.headers["x-request-id"] == "t1"
        assert r.headers["content-type"] == "application/json"
        assert r.json()["strategy"] == "personalized" and len(r.json()["recommendations"]) == 5
        assert http.post("/recommend/", json={"user_id": "new", "k": 2}).json()["strategy"] == (
            "fallback"
        )
        assert http.get(f"/recommend/{user}?k=3").status_code == 200
        assert http.post("/predict/rating/", json={"user_id": user, "item_id": item}).is_success
        assert http.get(f"/items/{item}/similar?k=3").status_code == 200
        assert http.get("/items/zzz").status_code == 404
        assert http.post("/recommend", content=b"{", headers={"content-type": "application/json"}
                         ).status_code == 422  # fmt: skip
        assert "nextbuy_requests_total" in http.get("/metrics").text
    lines = [json.loads(x) for x in live_server.log.read_text().splitlines() if x.startswith("{")]
    access = [x for x in lines if x.get("logger") == "nextbuy.access"]
    assert any(x["request_id"] == "t1" and x["route"] == "/recommend" for x in access)


def test_serving_never_imports_torch(live_server: LiveServer):
    maps = Path(f"/proc/{live_server.process.pid}/maps")
    if not maps.exists():
        pytest.skip("needs /proc")
    assert "torch" not in maps.read_text()


def test_missing_model_folder_fails_in_one_line(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "nextbuy.serving", "--model-dir", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "no such model folder" in proc.stderr


def test_reload_under_concurrent_requests_loses_none(
    live_server: LiveServer, private_models: Path, shop: Shop
):
    """Threads hammer the server while new versions are trained and swapped in three times."""
    users = [str(u) for u in shop.events.user_id.unique()[:20]] + ["someone-new"]
    items = [str(i) for i in shop.items.item_id[:10]]
    stop = threading.Event()
    statuses: Counter[int] = Counter()
    versions: Counter[str] = Counter()
    errors: list[str] = []
    lock = threading.Lock()

    def hammer(worker: int) -> None:
        with httpx.Client(base_url=live_server.url, timeout=10) as http:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    if n % 3:
                        r = http.post("/recommend", json={"user_id": users[n % len(users)]})
                    else:
                        r = http.get(f"/items/{items[n % len(items)]}/similar")
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(repr(exc))
                    continue
                with lock:
                    statuses[r.status_code] += 1
                    if r.status_code == 200:
                        versions[r.json()["model_version"]] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    served = [httpx.get(live_server.url + "/ready").json()["model_version"]]
    try:
        for seed in (1, 2, 3):
            time.sleep(0.4)
            new = train_and_save(
                shop.events,
                shop.items,
                private_models,
                "als",
                "als",
                factors=8,
                iterations=2,
                random_state=seed,
                num_threads=1,
            )
            r = httpx.post(live_server.url + "/admin/reload", headers={"X-API-Key": API_KEY},
                           timeout=30)  # fmt: skip
            assert r.status_code == 200, r.text
            assert r.json()["changed"] is True and r.json()["version"] == new.name
            served.append(new.name)
        time.sleep(0.4)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors
    assert set(statuses) == {200}, statuses
    assert sum(statuses.values()) > 100
    assert set(versions) <= set(served)
    assert len(set(versions)) >= 3, versions  # answers came from old and new versions
    assert httpx.get(live_server.url + "/model").json()["version"] == served[-1]
    metrics = httpx.get(live_server.url + "/metrics").text
    assert 'nextbuy_model_reloads_total{result="loaded"} 3.0' in metrics


def test_reload_reaches_every_worker(private_models: Path, shop: Shop, tmp_path: Path):
    """With two worker processes, one /admin/reload moves both; metrics add up across them."""
    with serve(private_models / "als", tmp_path / "server.log", workers=2) as server:
        new = train_and_save(shop.events, shop.items, private_models, "als", "als",
                             factors=8, iterations=2, random_state=9, num_threads=1)  # fmt: skip
        r = httpx.post(server.url + "/admin/reload", headers={"X-API-Key": API_KEY}, timeout=30)
        assert r.json()["version"] == new.name
        time.sleep(1.5)  # followers poll every 0.5 s
        seen = {httpx.get(server.url + "/model").json()["version"] for _ in range(30)}
        assert seen == {new.name}
        text = httpx.get(server.url + "/metrics").text
        assert 'nextbuy_requests_total{method="GET",route="/model",status="200"} 30.0' in text
