"""Data sets in the event store (issue 11.4): rows of one data set never show in another, and a
store made before data sets existed upgrades in place (SQLite and PostgreSQL) with every row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from nextbuy.errors import ConfigError
from nextbuy.store import EventStore
from tests.conftest import require_postgres

MIGRATIONS = Path(__file__).parents[1] / "src" / "nextbuy" / "store" / "migrations"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh schema on the live PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'events.db'}"
        return
    pg_url = require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{pg_url}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def upgrade_to(url: str, revision: str) -> None:
    """Run the store's own Alembic migrations up to ``revision`` only."""
    engine = EventStore(url, migrate=False).engine
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


def event(i: int, user: str = "u1", item: str = "i1") -> dict:
    return {"event_id": f"e{i}", "user_id": user, "item_id": item, "event": "view",
            "value": 1.0, "timestamp": 1_700_000_000 + i}  # fmt: skip


def test_a_store_from_before_data_sets_upgrades_in_place_with_every_row(url: str) -> None:
    upgrade_to(url, "0001")
    engine = EventStore(url, migrate=False).engine
    with engine.begin() as conn:
        for i in range(1, 6):
            conn.execute(
                text(
                    "INSERT INTO nextbuy_events (event_id, user_id, item_id, event, value,"
                    " timestamp, received_at) VALUES (:e, 'u1', :item, 'view', 1, :ts, 0)"
                ),
                {"e": f"old{i}", "item": f"i{i}", "ts": 1_700_000_000 + i},
            )
        conn.execute(
            text(
                "INSERT INTO nextbuy_items (item_id, name, brand, category, price, in_stock,"
                " hidden, deleted, updated_at) VALUES ('i1', 'Mug', 'Acme', 'Home', 9.5,"
                " true, false, false, 1)"
            )
        )
        conn.execute(text("DELETE FROM nextbuy_events WHERE event_id = 'old3'"))  # a gap in ids
        ids_before = [r[0] for r in conn.execute(text("SELECT id FROM nextbuy_events ORDER BY id"))]
    engine.dispose()

    store = EventStore(url)  # migrates to head
    frame = store.events_frame()
    assert frame["id"].tolist() == ids_before  # ids kept: manifests refer to them
    assert frame["event_id"].tolist() == ["old1", "old2", "old4", "old5"]
    assert store.dataset == "default"
    assert [r["name"] for r in store.items()] == ["Mug"]
    # the old event ids stay idempotent; new ids continue after the largest one
    assert store.add_events([{**event(1), "event_id": "old1"}]).duplicates == 1
    assert store.add_events([event(99)]).stored == 1
    assert int(store.events_frame()["id"].max()) > max(ids_before)
    columns = {c["name"] for c in inspect(store.engine).get_columns("nextbuy_events")}
    assert {"dataset", "recommendation_id", "position"} <= columns
    tables = set(inspect(store.engine).get_table_names())
    assert {"nextbuy_experiments", "nextbuy_impressions"} <= tables  # 0003_experiments
    store.close()


def test_a_store_at_0002_gains_the_experiment_tables_keeping_its_rows(url: str) -> None:
    upgrade_to(url, "0002_dataset")
    old = EventStore(url, migrate=False, dataset="shop")
    with old.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO nextbuy_events (dataset, event_id, user_id, item_id, event, value,"
            " timestamp, received_at) VALUES ('shop', 'e1', 'u1', 'i1', 'view', 1, 1, 0)"
        ))  # fmt: skip
    old.close()
    store = EventStore(url, dataset="shop")
    assert store.events_frame()["event_id"].tolist() == ["e1"]
    from nextbuy.store.experiments import ExperimentStore

    experiments = ExperimentStore(store)
    arms = [{"name": "a"}, {"name": "b"}]
    experiments.create({"experiment_id": "t", "variants": arms, "eligible": "all",
                        "salt": "s", "starts_at": 0, "ends_at": None})  # fmt: skip
    assert experiments.all()[0]["variants"][1] == {"name": "b"}
    store.close()


def test_data_sets_share_a_store_but_never_mix(url: str) -> None:
    movies = EventStore(url, dataset="movielens")
    books = EventStore(url, dataset="amazon")
    movies.add_events([event(1, "m1"), event(2, "m2")])
    # the same event id in another data set is another event, not a duplicate
    assert books.add_events([event(1, "b1")]).stored == 1
    movies.upsert_items([{"item_id": "i1", "name": "Alien"}])
    books.upsert_items([{"item_id": "i1", "name": "Dune"}])
    assert movies.events_frame()["user_id"].tolist() == ["m1", "m2"]
    assert books.events_frame()["user_id"].tolist() == ["b1"]
    assert [row[1] for row in books.events_after(0, 100)] == ["b1"]
    assert movies.items()[0]["name"] == "Alien" and books.items()[0]["name"] == "Dune"
    assert movies.count_events() == 2 and books.count_events() == 1
    assert movies.datasets() == {"amazon": 1, "movielens": 2}
    movies.close()
    books.close()


def test_a_bad_data_set_name_is_refused_with_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected 1-128 letters"):
        EventStore(f"sqlite:///{tmp_path / 'e.db'}", dataset="two words")
