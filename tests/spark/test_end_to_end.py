"""``train --engine spark``, then the real server: the artifact is like any other, string IDs
stay strings, seen items never come back, fold-in, new items, rules and explanations work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyspark
import pytest
from fastapi.testclient import TestClient

from nextbuy.artifacts import MANIFEST, file_sha256, load_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.serving.app import create_app
from nextbuy.serving.settings import ServingSettings
from nextbuy.spark.models import SparkALS
from tests.serving.conftest import API_KEY
from tests.spark.conftest import USER_RENAMES, SparkShop

pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas", "ignore:The copy keyword is deprecated"
)
KEY = {"X-API-Key": API_KEY}


def client_for(shop: SparkShop, tmp_path: Path, **settings: object) -> TestClient:
    """The real app over the Spark-trained model, with an event store of its own."""
    config = ServingSettings(
        model_dir=shop.models / "shop", database_url=f"sqlite:///{tmp_path / 'events.db'}",
        api_key=API_KEY, blas_threads=None, sync_interval_s=0, **settings,
    )  # fmt: skip
    return TestClient(create_app(config))


def rec_ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["item_id"] for item in response.json()["recommendations"]]


def test_the_artifact_is_the_usual_one(spark_shop: SparkShop):
    assert "held-out evaluation (Spark)" in spark_shop.output
    art = load_artifact(spark_shop.models / "shop")  # verifies every checksum
    manifest = json.loads((art.path / MANIFEST).read_text())
    assert manifest["model"] == "spark_als" and type(art.model) is SparkALS
    engine = manifest["config"]["engine"]
    assert engine["name"] == "spark" and engine["spark_version"] == pyspark.__version__
    assert manifest["metrics"]["ndcg@10"] > 0
    for rel, sha in manifest["files"].items():
        assert file_sha256(art.path / rel) == sha
    assert {"user_factors.npy", "item_factors.npy", "seen.npz", "users.parquet"} <= set(
        manifest["files"]
    )
    # the ID maps are the ones NextBuy builds in-process (sorted strings), "007" != "7"
    local = Interactions.from_frame(spark_shop.events)
    assert art.user_map == local.user_map and art.item_map == local.item_map
    for user in USER_RENAMES.values():
        assert user in art.user_map
    assert len({art.user_map.index_of(u) for u in USER_RENAMES.values()}) == 3
    assert {"00123", "123"} <= set(art.item_map.ids)
    # seen = the aggregated training pairs: values summed exactly as Interactions does
    seen = art.seen.tocoo()
    truth = local.csr
    assert np.allclose(seen.data, np.asarray(truth[seen.row, seen.col]).ravel())
    assert 0.6 * truth.nnz < art.seen.nnz < truth.nnz  # the per-user split held out ~20 %


def test_served_with_fold_in_new_items_rules_and_explanations(
    spark_shop: SparkShop, tmp_path: Path
):
    art = load_artifact(spark_shop.models / "shop")
    with client_for(spark_shop, tmp_path, max_per_brand=2) as client:
        assert client.get("/model").json()["model"] == "spark_als"
        for user in USER_RENAMES.values():  # three different users, each with their own history
            recs = rec_ids(client.post("/recommend", json={"user_id": user, "k": 10}))
            assert len(recs) == 10
            seen = set(art.item_map.to_ids(art.seen[art.user_map.index_of(user)].indices))
            assert seen and not seen & set(recs)
        body = client.post("/recommend", json={"user_id": "007", "k": 10}).json()
        assert body["strategy"] == "personalized"
        brands = [item["brand"] for item in body["recommendations"]]
        assert max(brands.count(b) for b in brands) <= 2  # the max-per-brand rule
        # explanations: the user's past items, largest contribution first
        body = client.post("/recommend", json={"user_id": "007", "k": 5, "explain": True}).json()
        assert "explain_note" not in body
        history = set(art.item_map.to_ids(art.seen[art.user_map.index_of("007")].indices))
        for item in body["recommendations"]:
            values = [b["contribution"] for b in item["because"]]
            assert item["because"] and {b["item_id"] for b in item["because"]} <= history
            assert values == sorted(values, reverse=True)
        # fold-in: a new user's events make them known, and what they bought is excluded
        books = spark_shop.catalog.loc[spark_shop.catalog["category"] == "Books", "item_id"]
        bought = books.tolist()[:3]
        events = [{"event_id": f"n-{i}", "user_id": "newbie", "item_id": item,
                   "event": "purchase"} for i, item in enumerate(bought)]  # fmt: skip
        assert client.post("/events", json=events).status_code == 200
        body = client.post("/recommend", json={"user_id": "newbie", "k": 10}).json()
        assert body["strategy"] == "personalized" and not set(bought) & set(rec_ids_of(body))
        # a new item is scored from its attributes and gets cosine neighbours
        new = {"name": "Illustrated Mystery Novel", "brand": spark_shop.catalog["brand"].iloc[0],
               "category": "Books", "price": 14.0}  # fmt: skip
        assert client.put("/items/book-new-1", json=new, headers=KEY).json()["new"] is True
        similar = client.get("/items/book-new-1/similar", params={"k": 5}).json()
        assert similar["method"] == "cosine" and len(similar["items"]) == 5
        anchor = similar["items"][0]["item_id"]
        back = client.get(f"/items/{anchor}/similar", params={"k": 20}).json()["items"]
        assert "book-new-1" in [x["item_id"] for x in back]
        rating = client.post("/predict/rating", json={"user_id": "newbie", "item_id": "book-new-1"})
        assert rating.status_code == 200 and rating.json()["kind"] == "score"


def rec_ids_of(body: dict) -> list[str]:
    return [item["item_id"] for item in body["recommendations"]]


def test_serving_never_imports_pyspark(spark_shop: SparkShop, tmp_path: Path):
    """A process where ``import pyspark`` fails loads and serves the Spark-trained model."""
    code = f"""
import sys
sys.modules["pyspark"] = None  # any import of pyspark now raises ImportError
from fastapi.testclient import TestClient
from nextbuy.serving.app import create_app
from nextbuy.serving.settings import ServingSettings
settings = ServingSettings(model_dir={str(spark_shop.models / "shop")!r}, online=False,
                           blas_threads=None)
with TestClient(create_app(settings)) as client:
    r = client.post("/recommend", json={{"user_id": "007", "k": 3}})
    assert r.status_code == 200 and len(r.json()["recommendations"]) == 3, r.text
print("served without pyspark")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "served without pyspark" in proc.stdout
