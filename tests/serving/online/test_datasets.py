"""Issue 11.4: two deployments sharing one models folder (one event store) keep their data
sets apart: events, catalog changes and retraining are scoped; mixing is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nextbuy.artifacts import read_manifest, save_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError, DataError
from nextbuy.models import registry
from nextbuy.serving.app import create_app
from nextbuy.serving.settings import ServingSettings
from nextbuy.training import train_model
from tests.serving.online.conftest import KEY, OnlineShop, purchases


@pytest.fixture()
def two_shops(online_shop: OnlineShop, tmp_path: Path) -> Path:
    """MODELS_DIR with ``ml`` (data set movielens) and ``amz`` (data set amazon)."""
    train = Interactions.from_frame(online_shop.events)
    model = registry.create("popularity").fit(train)
    for name, dataset in (("ml", "movielens"), ("amz", "amazon")):
        save_artifact(model, train, tmp_path, name, catalog=online_shop.items,
                      data={"source": "test", "dataset": dataset})  # fmt: skip
    return tmp_path


def app(model_dir: Path, **settings: object) -> TestClient:
    config = ServingSettings(model_dir=model_dir, api_key="test-key-0123456789",
                             blas_threads=None, sync_interval_s=0, **settings)  # fmt: skip
    return TestClient(create_app(config))


def test_events_and_catalog_changes_stay_in_their_data_set(
    two_shops: Path, online_shop: OnlineShop
) -> None:
    item = online_shop.items["item_id"].iloc[0]
    with app(two_shops / "ml") as ml, app(two_shops / "amz") as amz:
        got = ml.post("/events", json=purchases("ml-user", [item]), headers=KEY)
        assert got.status_code == 200, got.text
        ml.put("/items", json=[{"item_id": "new-film", "name": "Alien"}], headers=KEY)
        ml_store, amz_store = ml.app.state.online.store, amz.app.state.online.store
        assert ml_store.url == amz_store.url  # one store file in the models folder
        assert (ml_store.dataset, amz_store.dataset) == ("movielens", "amazon")
        assert ml_store.count_events() == 1 and amz_store.count_events() == 0
        amz.app.state.online.sync()
        assert "ml-user" not in amz.app.state.service.snapshot.histories.users
        assert "ml-user" in ml.app.state.service.snapshot.histories.users
        assert [r["item_id"] for r in amz_store.items()] == []
        assert amz.get("/items/new-film").status_code == 404


def test_serving_a_model_of_another_data_set_is_refused(two_shops: Path) -> None:
    refused = pytest.raises(ConfigError, match="trained on data set 'movielens'.*'amazon'")
    with refused, app(two_shops / "ml", dataset="amazon"):
        pass
    with app(two_shops / "ml", dataset="movielens") as ml:  # its own name is fine
        assert ml.get("/health").status_code == 200


def test_a_reload_to_a_model_of_another_data_set_keeps_the_old_one(
    two_shops: Path, online_shop: OnlineShop
) -> None:
    with app(two_shops / "ml") as ml:
        before = ml.get("/model").json()
        train = Interactions.from_frame(online_shop.events)
        save_artifact(registry.create("popularity").fit(train), train, two_shops, "ml",
                      data={"dataset": "amazon"})  # fmt: skip
        got = ml.post("/admin/reload", headers=KEY)
        assert got.status_code == 409, got.text
        assert "data set" in got.text
        assert ml.get("/model").json() == before


def test_retraining_reads_only_its_data_set(two_shops: Path, online_shop: OnlineShop) -> None:
    url = f"sqlite:///{two_shops / 'events.db'}"
    items = online_shop.items["item_id"].tolist()
    with app(two_shops / "ml") as ml, app(two_shops / "amz") as amz:
        ml.post("/events", json=purchases("film-fan", items[:5], "m"), headers=KEY)
        amz.post("/events", json=purchases("reader", items[5:8], "a"), headers=KEY)
    result = train_model(None, model="popularity", out=two_shops, name="amz2",
                         database_url=url, dataset="amazon", split="none")  # fmt: skip
    assert result.n_train == 3  # the reader's three purchases, none of the film fan's
    assert read_manifest(result.version_dir)["data"]["dataset"] == "amazon"
    with pytest.raises(DataError, match="'nothing' holds no.*'amazon' \\(3 events\\)"):
        train_model(None, model="popularity", out=two_shops, database_url=url,
                    dataset="nothing")  # fmt: skip


def test_a_training_job_keeps_the_served_data_set(two_shops: Path, shop_dir: Path) -> None:
    import time

    body = {"data": str(shop_dir / "interactions.csv"), "model": "popularity", "split": "none"}
    with app(two_shops / "ml", data_dir=shop_dir) as ml:  # /train reads the data folder only
        job = ml.post("/train", json=body, headers=KEY).json()
        deadline = time.monotonic() + 180
        while job["status"] not in ("succeeded", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            job = ml.get(job["status_url"], headers=KEY).json()
        assert job["status"] == "succeeded", job
        assert ml.post("/admin/reload", headers=KEY).status_code == 200  # not refused
        assert read_manifest(ml.app.state.service.snapshot.artifact.path)["data"]["dataset"] == (
            "movielens"
        )
