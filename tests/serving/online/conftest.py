"""Online-learning fixtures: models saved with their new-item model, one event store per test
(a SQLite file, or a fresh schema on the live PostgreSQL server), and apps over both."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from nextbuy.artifacts import save_artifact
from nextbuy.coldstart import AttributeRidge
from nextbuy.data.catalog import align_catalog
from nextbuy.data.interactions import Interactions
from nextbuy.models import registry
from nextbuy.serving.app import create_app
from nextbuy.serving.settings import ServingSettings
from nextbuy.store import EventStore
from tests.conftest import require_postgres
from tests.serving.conftest import API_KEY, read_shop

KEY = {"X-API-Key": API_KEY}
#: Models of the suite and their (small, fast) parameters.
MODELS: dict[str, dict[str, object]] = {
    "als": {"factors": 16, "iterations": 8, "num_threads": 1},
    "ease": {},
    "itemknn": {},
}


@dataclass
class OnlineShop:
    """The small shop and models saved with the attribute model (new items can be scored)."""

    root: Path
    events: pd.DataFrame
    ratings: pd.DataFrame
    items: pd.DataFrame

    def category_items(self, category: str) -> list[str]:
        return self.items.loc[self.items["category"] == category, "item_id"].tolist()


def save_with_attributes(
    frame: pd.DataFrame, items: pd.DataFrame, root: Path, name: str, explicit: bool = False,
    **params: object,
) -> Path:  # fmt: skip
    """Fit ``name`` and save it with the ridge from attributes fitted on its catalog."""
    train = Interactions.from_frame(frame, explicit=explicit)
    model = registry.create(name, **params).fit(train)
    ridge = AttributeRidge.fit(align_catalog(items, train.item_map))
    return save_artifact(model, train, root, name, catalog=items, attributes=ridge)


@pytest.fixture(scope="session")
def online_shop(shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> OnlineShop:
    root = tmp_path_factory.mktemp("online-models")
    events, ratings, items = read_shop(shop_dir)
    for name, params in MODELS.items():
        save_with_attributes(events, items, root, name, **params)
    save_with_attributes(ratings, items, root, "mf", explicit=True, epochs=4, factors=8)
    save_with_attributes(events, items, root, "popularity")
    return OnlineShop(root, events, ratings, items)


@contextmanager
def pg_schema() -> Iterator[str]:
    """A URL whose tables live in a fresh schema of the live server, dropped afterwards."""
    pg_url = require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = EventStore(pg_url, migrate=False)
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{pg_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store of one test: the same tests run against SQLite and PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'events.db'}"
        return
    with pg_schema() as url:
        yield url


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite store for tests about serving logic rather than the database."""
    return f"sqlite:///{tmp_path / 'events.db'}"


AppFactory = Callable[..., AbstractContextManager[TestClient]]


@pytest.fixture()
def online_app(online_shop: OnlineShop) -> AppFactory:
    """``with online_app(url, "als", max_per_brand=2) as client:`` (the app's lifespan runs)."""

    @contextmanager
    def make(url: str, model: str = "als", **settings: object) -> Iterator[TestClient]:
        settings.setdefault("blas_threads", None)
        settings.setdefault("sync_interval_s", 0)
        config = ServingSettings(
            model_dir=online_shop.root / model, database_url=url, api_key=API_KEY, **settings
        )
        with TestClient(create_app(config)) as client:
            yield client

    return make


def rec_ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["item_id"] for item in response.json()["recommendations"]]


def purchases(
    user: str, items: list[str], prefix: str = "e", event: str = "purchase"
) -> list[dict]:
    """Events of ``user`` with one item each (IDs derived from the prefix: retries are safe)."""
    return [
        {"event_id": f"{prefix}-{user}-{i}", "user_id": user, "item_id": item, "event": event}
        for i, item in enumerate(items)
    ]
