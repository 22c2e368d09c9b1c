"""Health, readiness, model card, metrics, request IDs, access log, limits, security, OpenAPI."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nextbuy.serving.logging import ACCESS_LOGGER
from tests.serving.conftest import API_KEY, Shop, make_client


def test_health_and_ready(client: TestClient, shop: Shop):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["model_version"] == shop.artifact("als").version
    assert body["store"] == {"state": "ok", "writes": True, "stale": False, "down_s": None}


def test_model_card(client: TestClient, shop: Shop):
    art = shop.artifact("als")
    card = client.get("/model").json()
    assert card["name"] == "als" and card["model"] == "als"
    assert card["version"] == art.version
    assert card["trained_at"] == art.manifest["created_at"]
    assert card["params"]["factors"] == 8
    assert card["metrics"] == {"ndcg@10": 0.1}
    assert (card["n_users"], card["n_items"]) == (len(art.user_map), len(art.item_map))
    assert card["explicit"] is False and card["predicts_ratings"] is False


def test_metrics_count_requests_per_route_and_the_model_version(client: TestClient, shop: Shop):
    client.get("/items/nope")
    client.get("/popular")
    text = client.get("/metrics").text
    assert 'nextbuy_requests_total{method="GET",route="/items/{item_id}",status="404"}' in text
    assert 'nextbuy_request_duration_seconds_bucket{le="0.005",method="GET",route="/popular"}' in (
        text
    )
    version = shop.artifact("als").version
    assert f'nextbuy_model_info{{model="als",name="als",version="{version}"}} 1.0' in text


def test_unmatched_paths_share_one_metrics_label(client: TestClient):
    for i in range(3):
        assert client.get(f"/no/such/path/{i}").status_code == 404
    text = client.get("/metrics").text
    assert 'route="unmatched",status="404"' in text
    assert "/no/such/path" not in text


def test_request_id_is_generated_or_echoed(client: TestClient):
    generated = client.get("/health").headers["x-request-id"]
    assert generated and generated != client.get("/health").headers["x-request-id"]
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    unsafe = client.get("/health", headers={"X-Request-ID": "a b\tc"}).headers["x-request-id"]
    assert unsafe != "a b\tc"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_one_json_access_log_line_per_request(client: TestClient):
    handler = _Lines()
    logging.getLogger(ACCESS_LOGGER).addHandler(handler)
    try:
        r = client.post("/recommend", json={"user_id": "x", "k": 2}, headers={"X-Request-ID": "r1"})
        client.get("/items/missing")
    finally:
        logging.getLogger(ACCESS_LOGGER).removeHandler(handler)
    assert r.status_code == 200
    entries: list[dict[str, Any]] = [json.loads(line) for line in handler.lines]
    assert len(entries) == 2
    first = entries[0]
    assert first["request_id"] == "r1"
    assert (first["method"], first["path"], first["route"], first["status"]) == (
        "POST", "/recommend", "/recommend", 200,
    )  # fmt: skip
    assert first["latency_ms"] > 0 and first["bytes"] > 0
    assert entries[1]["status"] == 404 and entries[1]["route"] == "/items/{item_id}"


# ---------------------------------------------------------------------- body size limit
def test_body_over_the_limit_is_413(shop: Shop):
    with make_client(shop.root / "als", max_body_bytes=2048) as c:
        big = {"user_id": "u", "exclude_item_ids": ["x" * 50] * 100}
        r = c.post("/recommend", json=big)
        assert r.status_code == 413
        assert "2,048 bytes" in r.json()["detail"]
        assert r.headers["x-request-id"]

        def chunks():  # no Content-Length: the limit applies while the body streams
            yield b'{"user_id": "u", "exclude_item_ids": ['
            for _ in range(100):
                yield b'"' + b"x" * 50 + b'",'
            yield b'"y"]}'

        r = c.post("/recommend", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert c.post("/recommend", json={"user_id": "u"}).status_code == 200


# ---------------------------------------------------------------------- security
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/admin/reload", None), ("POST", "/train", {"data": "x.csv"}),
     ("GET", "/train/0123456789ab", None)],
)  # fmt: skip
def test_admin_and_train_are_disabled_without_a_configured_key(
    mf_client: TestClient, method: str, path: str, body: Any
):
    for headers in ({}, {"X-API-Key": "anything"}):
        r = mf_client.request(method, path, json=body, headers=headers)
        assert r.status_code == 403
        assert "NEXTBUY_API_KEY" in r.json()["detail"]


def test_admin_needs_the_right_key(client: TestClient):
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers={"X-API-Key": "wrong"}).status_code == 403
    r = client.post("/admin/reload", headers={"X-API-Key": API_KEY})
    assert r.status_code == 200
    assert r.json()["changed"] is False


# ---------------------------------------------------------------------- OpenAPI
def test_openapi_documents_every_field_and_parameter(client: TestClient):
    spec = client.get("/openapi.json").json()
    expected = {
        "/recommend", "/recommend/{user_id}", "/recommend/batch", "/predict/rating",
        "/items/{item_id}", "/items/{item_id}/similar", "/popular", "/model", "/health",
        "/ready", "/metrics", "/admin/reload", "/train", "/train/{job_id}",
    }  # fmt: skip
    assert expected <= set(spec["paths"])
    missing = []
    for name, schema in spec["components"]["schemas"].items():
        assert schema.get("description"), f"schema {name} has no description"
        for field, prop in schema.get("properties", {}).items():
            if not prop.get("description"):
                missing.append(f"{name}.{field}: description")
            if "examples" not in prop and "example" not in prop:
                missing.append(f"{name}.{field}: examples")
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            assert op.get("summary") and op.get("description"), f"{method} {path}"
            for param in op.get("parameters", []):
                where = f"{method.upper()} {path} {param['name']}"
                if not param.get("description"):
                    missing.append(f"{where}: description")
                if not (param.get("examples") or param.get("example")
                        or param["schema"].get("examples")):  # fmt: skip
                    missing.append(f"{where}: examples")
    assert not missing, "\n".join(missing)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
