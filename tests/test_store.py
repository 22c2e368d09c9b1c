"""EventStore against SQLite and the live PostgreSQL server: the same suite for both."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from nextbuy.store import EventStore
from nextbuy.store.events import StoreError
from tests.conftest import require_postgres


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        s = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
        yield s
        s.close()
        return
    pg_url = require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = EventStore(pg_url, migrate=False)
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    s = EventStore(f"{pg_url}?options=-csearch_path%3D{schema}")
    yield s
    s.close()
    with admin.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.close()


def events(n: int, prefix: str = "e", user: str = "u1") -> list[dict]:
    return [
        {
            "event_id": f"{prefix}{i}",
            "user_id": user,
            "item_id": f"i{i % 7}",
            "event": "view",
            "value": 1.0,
            "timestamp": 1_700_000_000 + i,
        }
        for i in range(n)
    ]


def test_store_and_read_back(store: EventStore) -> None:
    counts = store.add_events(events(5))
    assert (counts.received, counts.stored, counts.duplicates) == (5, 5, 0)
    frame = store.events_frame()
    assert frame["event_id"].tolist() == [f"e{i}" for i in range(5)]
    assert frame["item_id"].tolist() == ["i0", "i1", "i2", "i3", "i4"]
    assert frame["timestamp"].dtype == "int64"


def test_retried_batch_stores_nothing_twice(store: EventStore) -> None:
    store.add_events(events(10))
    again = store.add_events(events(12))
    assert (again.stored, again.duplicates) == (2, 10)
    assert store.count_events() == 12
    within = store.add_events(events(1, prefix="dup") * 3)
    assert (within.stored, within.duplicates) == (1, 2)


def test_user_history_and_string_ids(store: EventStore) -> None:
    store.add_events(events(3, prefix="a", user="007") + events(2, prefix="b", user="7"))
    assert len(store.events_frame(["007"])) == 3
    assert len(store.events_frame(["7"])) == 2
    assert store.events_frame(since_id=3)["user_id"].tolist() == ["7", "7"]


def test_failed_batch_stores_nothing(store: EventStore) -> None:
    store.add_events(events(2))
    bad = events(3, prefix="z")
    bad[2] = {**bad[2], "user_id": None}  # violates NOT NULL at the database
    with pytest.raises(StoreError):
        store.add_events(bad)
    assert store.count_events() == 2


def test_catalog_upsert_keeps_unset_fields(store: EventStore) -> None:
    store.upsert_items(
        [{"item_id": "p1", "name": "Tent", "brand": "Trail", "category": "Camping", "price": 99.0}]
    )
    store.upsert_items([{"item_id": "p1", "in_stock": False}, {"item_id": "p2", "name": "Pegs"}])
    [p1] = store.items(["p1"])
    assert (p1["name"], p1["brand"], p1["in_stock"], p1["hidden"]) == (
        "Tent",
        "Trail",
        False,
        False,
    )
    assert store.items(["p2"])[0]["in_stock"] is True
    assert [row["item_id"] for row in store.items()] == ["p1", "p2"]
    assert store.items(["nope"]) == []


def test_events_after_an_id_in_id_order(store: EventStore) -> None:
    store.add_events(events(5))
    rows = store.events_after(2, limit=2)
    assert [row[0] for row in rows] == [3, 4]
    assert rows[0][1:] == ("u1", "i2", "view", 1.0, 1_700_000_002)
    assert store.events_after(5, limit=10) == []
    assert store.events_after(0, limit=10, received_after_ms=2**62) == []


def test_items_updated_since(store: EventStore) -> None:
    store.upsert_items([{"item_id": "p1", "name": "Tent"}])
    [row] = store.items_updated_since(0)
    assert row["item_id"] == "p1" and row["updated_at"] > 0
    assert store.items_updated_since(row["updated_at"] + 1) == []
    assert len(store.items([f"p{i}" for i in range(5000)])) == 1  # chunked IN queries


def test_migrate_is_idempotent(store: EventStore) -> None:
    store.migrate()
    store.add_events(events(1))
    store.migrate()
    assert store.count_events() == 1


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot migrate"):
        EventStore("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")


def test_impressions_round_trip_as_dicts_and_tuples(store: EventStore) -> None:
    """Both forms of the impression insert land the same rows (the driver's placeholders)."""
    from nextbuy.store.experiments import IMPRESSION_FIELDS, ExperimentStore

    experiments = ExperimentStore(store)
    row = {"recommendation_id": "r1", "experiment_id": None, "variant": None, "user_id": "u1",
           "item_id": "i'1", "position": 1, "served_at": 5, "latency_ms": 0.25}  # fmt: skip
    assert experiments.add_impressions([row]) == 1
    as_tuple = ("r2", "x", "a", "u2", "i%s2", 2, 6, None)
    assert experiments.add_impression_tuples([as_tuple]) == 1
    frame = experiments.impressions_frame().sort_values("recommendation_id")
    got = [tuple(None if v != v else v for v in r) for r in frame[list(IMPRESSION_FIELDS)].values]
    assert got[0] == tuple(row.values())
    assert got[1] == as_tuple
