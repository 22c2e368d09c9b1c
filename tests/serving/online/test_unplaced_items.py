"""Empty answers say why (issue 11, item 8): a new item in a model trained without a catalog has
no similar items and a note (the other items' lists keep working, no 500), and explanations
asked of a blend come back with a note naming the models that can explain."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nextbuy.artifacts import save_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.models import registry
from nextbuy.serving.app import create_app
from nextbuy.serving.settings import ServingSettings
from tests.serving.conftest import API_KEY
from tests.serving.online.conftest import KEY, OnlineShop

MODELS = {"ials": {"factors": 8, "iterations": 3}, "itemknn": {}}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_new_item_without_attributes(
    online_shop: OnlineShop, tmp_path: Path, sqlite_url: str, name: str
) -> None:
    train = Interactions.from_frame(online_shop.events)
    model = registry.create(name, **MODELS[name]).fit(train)
    save_artifact(model, train, tmp_path, name)  # no catalog: nothing places new items
    settings = ServingSettings(
        model_dir=tmp_path / name, database_url=sqlite_url, api_key=API_KEY, sync_interval_s=0
    )
    with TestClient(create_app(settings)) as client:
        added = client.post("/items", json={"items": [{"item_id": "brand-new"}]}, headers=KEY)
        assert added.status_code == 200, added.text
        answer = client.get("/items/brand-new/similar?k=5").json()
        assert answer["items"] == []
        assert "added after training" in answer["note"] and "--items" in answer["note"]
        trained = online_shop.events["item_id"].iloc[0]
        other = client.get(f"/items/{trained}/similar?k=5")
        assert other.status_code == 200, other.text
        assert len(other.json()["items"]) == 5 and other.json().get("note") is None
        assert "brand-new" not in {x["item_id"] for x in other.json()["items"]}


def test_explain_on_a_blend_says_why_there_are_no_reasons(
    online_shop: OnlineShop, tmp_path: Path, sqlite_url: str
) -> None:
    train = Interactions.from_frame(online_shop.events)
    params = {"components": {"ease": {}, "itemknn": {}}, "weights": {"ease": 1.0, "itemknn": 1.0}}
    model = registry.create("blend", **params).fit(train)
    save_artifact(model, train, tmp_path, "blend")
    settings = ServingSettings(
        model_dir=tmp_path / "blend", database_url=sqlite_url, api_key=API_KEY, sync_interval_s=0
    )
    user = online_shop.events["user_id"].iloc[0]
    with TestClient(create_app(settings)) as client:
        body = client.post("/recommend", json={"user_id": user, "k": 3, "explain": True}).json()
    assert body["strategy"] == "personalized" and len(body["recommendations"]) == 3
    assert all(item["because"] == [] for item in body["recommendations"])
    assert body["explain_note"].startswith("blend does not break its scores down by past items")
    assert "ease" in body["explain_note"]
