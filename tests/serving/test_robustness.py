"""No request a client can send makes the server answer 500: odd values in every field."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.serving.conftest import API_KEY

ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 10**30, 1.5, -1e308, "", " ", "x" * 5000, "ü🙂\u0000\u202e",
    "../../etc/passwd", [], {}, [None], [1, 2], ["a"] * 3000, {"$gt": ""}, [[[[["deep"]]]]],
]  # fmt: skip

BODIES: dict[str, dict[str, Any]] = {
    "/recommend": {
        "user_id": "u00001", "n_recommendations": 5, "exclude_seen": True,
        "exclude_item_ids": ["p00001"], "categories": ["Books"], "brands": ["x"],
        "in_stock_only": False,
    },
    "/recommend/batch": {"user_ids": ["u00001", "u2"], "k": 3, "categories": None},
    "/predict/rating": {"user_id": "u00001", "item_id": "p00001"},
    "/train": {"data": "nowhere.csv", "model": "als", "params": {}, "split": "random"},
}  # fmt: skip

RAW_BODIES = [
    b"", b"null", b"[]", b"{", b"}", b"NaN", b'{"user_id": NaN}', b"\xff\xfe\x00",
    b'{"user_id": "a", "k": 1e400}', b"[" * 5000 + b"]" * 5000, b'{"user_id": "\\ud800"}',
    b'{"user_id": "a"}' * 3,
]  # fmt: skip

PATHS = [
    "/recommend/%00", "/recommend/" + "u" * 300, "/recommend/ü🙂?k=5", "/recommend/a?k=",
    "/recommend/a?k=1e3", "/recommend/a?category=&brand=", "/recommend/a?exclude=&exclude=b",
    "/items/%2e%2e%2f", "/items/" + "i" * 300, "/items/a/similar?k=99999999999999999999",
    "/popular?k=-5", "/popular?category=" + "c" * 5000, "/train/%2e%2e", "/model?x=1",
    "/items//similar", "/recommend//",
]  # fmt: skip


def assert_answered(response) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("path", sorted(BODIES))
def test_odd_values_in_every_field(client: TestClient, path: str):
    headers = {"X-API-Key": API_KEY}
    for field, value in itertools.product(BODIES[path], ODD_VALUES):
        body = {**BODIES[path], field: value}
        assert_answered(client.post(path, json=body, headers=headers))
        body.pop(field)
        assert_answered(client.post(path, json=body, headers=headers))


@pytest.mark.parametrize("raw", RAW_BODIES, ids=range(len(RAW_BODIES)))
@pytest.mark.parametrize("path", sorted(BODIES))
def test_malformed_bodies(client: TestClient, path: str, raw: bytes):
    for content_type in ("application/json", "text/plain"):
        headers = {"content-type": content_type, "X-API-Key": API_KEY}
        assert_answered(client.post(path, content=raw, headers=headers))


@pytest.mark.parametrize("path", PATHS)
def test_odd_paths_and_queries(client: TestClient, path: str):
    assert_answered(client.get(path, headers={"X-API-Key": API_KEY}))


def test_wrong_methods(client: TestClient):
    for method, path in [("GET", "/recommend"), ("DELETE", "/items/p1"), ("PUT", "/model"),
                         ("GET", "/predict/rating"), ("GET", "/admin/reload")]:  # fmt: skip
        r = client.request(method, path)
        assert r.status_code == 405
        assert_answered(r)
