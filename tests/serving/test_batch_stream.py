"""POST /recommend/batch streamed as JSON lines (Accept: application/x-ndjson): the same
answers, one line per user in order, pages of users computed one after the other."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from nextbuy.serving.routes import recommend as routes
from tests.conftest import untag


def test_streamed_batch_equals_the_json_answer(client: TestClient, monkeypatch) -> None:
    monkeypatch.setattr(routes, "STREAM_PAGE", 3)  # several pages from a small batch
    users = ["u00000", "u00001", "nobody", "u00002", "u00003", "u00004", "u00005"]
    body = {"user_ids": users, "k": 4}
    plain = client.post("/recommend/batch", json=body)
    assert plain.status_code == 200
    streamed = client.post(
        "/recommend/batch", json=body, headers={"Accept": "application/x-ndjson"}
    )
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    assert [line["user_id"] for line in lines] == users
    version = plain.json()["model_version"]
    assert all(line["model_version"] == version for line in lines)
    expected = [{"model_version": version, **untag(r)} for r in plain.json()["results"]]
    assert [untag(line) for line in lines] == expected


def test_streamed_batch_keeps_the_limits(client: TestClient) -> None:
    body = {"user_ids": [f"u{i:05d}" for i in range(1001)], "k": 1}
    r = client.post("/recommend/batch", json=body, headers={"Accept": "application/x-ndjson"})
    assert r.status_code == 413
