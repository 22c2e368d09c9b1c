"""Every route's real answers against the response models it declares in OpenAPI.

Routes return orjson dicts without a second validation, so nothing else keeps an answer and
its documented model in step: here each route is called with valid input (and with the
errors it documents) and the body must validate, with no field missing and none extra.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, routing
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter

from nextbuy.data.catalog import ITEM_FIELDS
from nextbuy.serving.app import create_app
from nextbuy.serving.schemas.recommend import CatalogFields
from nextbuy.serving.settings import ServingSettings
from tests.serving.conftest import API_KEY
from tests.serving.online.conftest import KEY, OnlineShop, purchases


@dataclass(frozen=True)
class Call:
    """One request and the status it must answer."""

    method: str
    path: str  # the route's path template
    url: str
    status: int = 200
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=lambda: dict(KEY))


def calls(shop: OnlineShop, data: Path) -> list[Call]:
    """Valid input for every route (and the documented errors of several)."""
    user = str(shop.events["user_id"].iloc[0])
    item = str(shop.items["item_id"].iloc[0])
    rec = {"user_id": user, "k": 3}
    return [
        Call("POST", "/recommend", "/recommend", json=rec),
        Call("POST", "/recommend", "/recommend", json={**rec, "explain": True}),
        Call("POST", "/recommend", "/recommend", json={"user_id": "nobody", "explain": True}),
        Call("POST", "/recommend", "/recommend", 422, json={"user_id": ""}),
        Call("POST", "/recommend/", "/recommend/", json=rec),
        Call("POST", "/recommend/batch", "/recommend/batch", json={"user_ids": [user, "nobody"]}),
        Call("POST", "/recommend/batch", "/recommend/batch", 413, json={"user_ids": ["u"] * 1001}),
        Call("POST", "/recommend/session", "/recommend/session", json={"items": [item], "k": 3}),
        Call("POST", "/recommend/session", "/recommend/session", 422, json={"items": "p1"}),
        Call("GET", "/recommend/{user_id}", f"/recommend/{user}", params={"k": 2, "explain": 1}),
        Call("GET", "/recommend/{user_id}", "/recommend/x", 422, params={"k": 0}),
        Call("POST", "/predict/rating", "/predict/rating", json={"user_id": user, "item_id": item}),
        Call(
            "POST",
            "/predict/rating",
            "/predict/rating",
            404,
            json={"user_id": user, "item_id": "?"},
        ),
        Call(
            "POST", "/predict/rating/", "/predict/rating/", json={"user_id": "x", "item_id": item}
        ),
        Call("GET", "/items/{item_id}", f"/items/{item}"),
        Call("GET", "/items/{item_id}", "/items/nope", 404),
        Call("GET", "/items/{item_id}/similar", f"/items/{item}/similar", params={"k": 3}),
        Call("GET", "/popular", "/popular", params={"k": 3, "category": "Books"}),
        Call("POST", "/events", "/events", json=purchases("contract-user", [item])),
        Call("POST", "/events", "/events", 422, json=[{"user_id": "u"}]),
        Call("POST", "/events/", "/events/", json=purchases("contract-user", [item], prefix="s")),
        Call("PUT", "/items/{item_id}", "/items/p_new", json={"name": "New", "price": 2.5}),
        Call("PUT", "/items/{item_id}", f"/items/{item}", 401, json={}, headers={}),
        Call("POST", "/items", "/items", json=[{"item_id": item, "in_stock": False}]),
        Call("POST", "/items", "/items", 422, json=[{"item_id": ""}]),
        Call("GET", "/health", "/health"),
        Call("GET", "/ready", "/ready"),
        Call("GET", "/model", "/model"),
        Call("GET", "/metrics", "/metrics"),
        Call("POST", "/admin/reload", "/admin/reload"),
        Call("POST", "/admin/reload", "/admin/reload", 403, headers={"X-API-Key": "wrong"}),
        Call("POST", "/train", "/train", 202, json={"data": str(data), "model": "popularity"}),
        Call("GET", "/train/{job_id}", "/train/0123456789ab", 404),
        Call("GET", "/train", "/train", 401, headers={}),
        Call("POST", "/reco", "/reco", json={"user_id_hash": user}),
        Call("POST", "/reco", "/reco", 422, json={"user": user}),
        Call("POST", "/reco/", "/reco/", json={"user_id_hash": "nobody"}),
        Call("POST", "/experiments", "/experiments", 201, json=AA_TEST),
        Call("POST", "/experiments", "/experiments", 409, json=AA_TEST),
        Call("GET", "/experiments", "/experiments"),
        Call("GET", "/experiments/{experiment_id}", "/experiments/aa"),
        Call("GET", "/experiments/{experiment_id}", "/experiments/none", 404),
        Call("POST", "/experiments/{experiment_id}/stop", "/experiments/aa/stop"),
    ]


#: An A/A test: both arms serve the same version.
AA_TEST = {
    "experiment_id": "aa",
    "variants": [{"name": "control", "model": "@latest"}, {"name": "copy", "model": "@latest"}],
}


@pytest.fixture()
def contract_client(
    online_shop: OnlineShop, tmp_path: Path, shop_dir: Path
) -> Iterator[TestClient]:
    """An online app over a private copy of the models (the training call writes there)."""
    root = tmp_path / "models"
    shutil.copytree(online_shop.root, root)
    settings = ServingSettings(
        model_dir=root / "als",
        data_dir=shop_dir,
        database_url=f"sqlite:///{tmp_path / 'events.db'}",
        api_key=API_KEY,
        blas_threads=None,
        sync_interval_s=0,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def api_routes(app: FastAPI) -> dict[tuple[str, str], Any]:
    """Every API route of ``app`` (through included routers) by (method, path)."""
    flat = getattr(routing, "iter_route_contexts", None)  # FastAPI >= 0.160 nests routers
    found = flat(app.routes) if flat is not None else app.routes
    return {
        (method, route.path): route
        for route in found
        if isinstance(getattr(route, "original_route", route), routing.APIRoute)
        and not route.path.startswith("/ui")  # the dashboard's HTML pages: tests/ui
        for method in route.methods
    }


def declared(route: Any, status: int) -> type[BaseModel] | None:
    """The model ``route`` declares for ``status`` in OpenAPI (None: not JSON)."""
    if 200 <= status < 300:
        return route.response_model  # type: ignore[no-any-return]
    entry = route.responses.get(status) or route.responses.get(str(status)) or {}
    return entry.get("model")  # type: ignore[no-any-return]


def test_every_route_answers_its_declared_model(
    contract_client: TestClient, online_shop: OnlineShop, shop_dir: Path
):
    routes = api_routes(contract_client.app)  # type: ignore[arg-type]
    made = calls(online_shop, shop_dir / "items.csv")  # a file training cannot use: fails fast
    assert {(c.method, c.path) for c in made} == set(routes), "a route without a call here"
    for call in made:
        route = routes[(call.method, call.path)]
        r = contract_client.request(
            call.method, call.url, json=call.json, params=call.params, headers=call.headers
        )
        assert r.status_code == call.status, (call, r.text)
        model = declared(route, r.status_code)
        if route.path == "/metrics":
            assert model is None and r.headers["content-type"].startswith("text/plain")
            continue
        assert model is not None, f"{call.method} {call.path} declares no {r.status_code} model"
        TypeAdapter(model).validate_python(r.json())  # extra fields forbidden, required checked
        if call.path == "/train" and r.status_code == 202:
            job_url = r.json()["status_url"]
            job = poll(contract_client, job_url)
            TypeAdapter(model).validate_python(job)
            assert job["status"] == "failed" and job["error"]


def test_explained_answers_carry_reasons_and_notes(contract_client: TestClient, online_shop):
    user = str(online_shop.events["user_id"].iloc[0])
    body = contract_client.post("/recommend", json={"user_id": user, "explain": True}).json()
    assert all("because" in item for item in body["recommendations"])
    stranger = contract_client.post("/recommend", json={"user_id": "z", "explain": True}).json()
    assert stranger["explain_note"]


def test_answers_carry_the_catalogs_item_fields():
    assert set(ITEM_FIELDS) == set(CatalogFields.model_fields) - {"item_id"}


def poll(client: TestClient, url: str, timeout: float = 120) -> dict[str, Any]:
    """A training job's state once it has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(url, headers=KEY).json()
        if job["status"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"{url} still running after {timeout} s")
