"""Every registered model, trained small and saved, is served by every read endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextbuy.models import registry
from tests.serving.conftest import Shop, make_client, train_and_save

QUICK = {"epochs": 3, "iterations": 3, "factors": 8}


@pytest.mark.parametrize("name", registry.available())
def test_model_is_served(name: str, shop: Shop, tmp_path: Path):
    cls = registry.get(name)
    explicit = cls.predicts_ratings
    frame = shop.ratings if explicit else shop.events
    params = {k: v for k, v in QUICK.items() if k in cls.defaults}
    train_and_save(frame, shop.items, tmp_path, name, name, explicit=explicit, **params)
    user, item = str(frame.user_id.iloc[0]), str(frame.item_id.iloc[0])
    with make_client(tmp_path / name) as c:
        rec = c.post("/recommend", json={"user_id": user, "k": 5, "categories": ["Books"]})
        assert rec.status_code == 200 and rec.json()["strategy"] == "personalized"
        batch = c.post("/recommend/batch", json={"user_ids": [user, "new"], "k": 5})
        assert [r["strategy"] for r in batch.json()["results"]] == ["personalized", "fallback"]
        rating = c.post("/predict/rating", json={"user_id": user, "item_id": item}).json()
        assert rating["kind"] == ("rating" if explicit else "score")
        similar = c.get(f"/items/{item}/similar", params={"k": 3})
        assert similar.status_code == 200 and item not in {
            x["item_id"] for x in similar.json()["items"]
        }
        session = c.post("/recommend/session", json={"items": [item], "k": 5}).json()
        assert session["strategy"] == "personalized"
        assert item not in {x["item_id"] for x in session["recommendations"]}
        assert c.get("/model").json()["model"] == name
