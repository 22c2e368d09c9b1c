"""Experiments and impressions in the event store: the SQL of A/B tests (issue 14).

Shares the :class:`EventStore`'s engine and data set, so every worker and replica reading
the same database sees the same experiments.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from nextbuy.store.events import EventStore, StoreError
from nextbuy.store.schema import events_table, experiments_table, impressions_table

IMPRESSION_FIELDS = ("recommendation_id", "experiment_id", "variant", "user_id", "item_id",
                     "position", "served_at", "latency_ms")  # fmt: skip
#: Positional placeholders of the DBAPI paramstyles that have one (sqlite3, psycopg).
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


class ExperimentStore:
    """Create, stop and read experiments; log impressions; read what attribution needs."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.engine = store.engine
        self.dataset = store.dataset

    def create(self, record: Mapping[str, Any]) -> None:
        """Store a new experiment; an existing ID is refused (experiments are never edited)."""
        row = {**record, "variants": json.dumps(record["variants"]), "dataset": self.dataset,
               "created_at": int(time.time() * 1000)}  # fmt: skip
        try:
            with self.engine.begin() as conn:
                conn.execute(experiments_table.insert(), [row])
        except IntegrityError as exc:
            raise StoreError(f"experiment {record['experiment_id']!r} exists already") from exc

    def stop(self, experiment_id: str, at_ms: int | None = None) -> bool:
        """Mark a running experiment stopped; False when it was not running."""
        t = experiments_table.c
        now = at_ms or int(time.time() * 1000)
        stmt = (
            update(experiments_table)
            .where(t.experiment_id == experiment_id, t.dataset == self.dataset)
            .where(t.stopped_at.is_(None))
            .values(stopped_at=now)
        )
        with self.engine.begin() as conn:
            return bool(conn.execute(stmt).rowcount)

    def all(self) -> list[dict[str, Any]]:
        """Every experiment of the data set, oldest first (variants decoded)."""
        t = experiments_table.c
        stmt = select(experiments_table).where(t.dataset == self.dataset).order_by(t.created_at)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
        for row in rows:
            row["variants"] = json.loads(row["variants"])
            row.pop("dataset", None)
        return rows

    def datasets(self) -> set[str]:
        """Every data set that has experiments (any data set, not only this store's)."""
        with self.engine.connect() as conn:
            return {str(r[0]) for r in conn.execute(select(experiments_table.c.dataset))}

    def get(self, experiment_id: str) -> dict[str, Any] | None:
        return next((e for e in self.all() if e["experiment_id"] == experiment_id), None)

    def add_impressions(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Log served lists (one row per shown item) in one transaction."""
        return self.add_impression_tuples(
            [tuple(r.get(k) for k in IMPRESSION_FIELDS) for r in rows]
        )

    def add_impression_tuples(self, rows: Sequence[tuple[Any, ...]]) -> int:
        """:meth:`add_impressions` of rows given as tuples in :data:`IMPRESSION_FIELDS` order.

        Every served list lands here (ten rows per recommendation), so the rows go to the
        driver's ``executemany`` as tuples where its placeholder style allows: SQLAlchemy's
        per-row parameter processing cost more than the answer itself.
        """
        if not rows:
            return 0
        records = [(*r, self.dataset) for r in rows]
        names = (*IMPRESSION_FIELDS, "dataset")
        try:
            with self.engine.begin() as conn:
                placeholder = _PLACEHOLDERS.get(conn.dialect.paramstyle)
                if placeholder is None:  # another driver: the portable (slower) statement
                    dicts = [dict(zip(names, r, strict=True)) for r in records]
                    conn.execute(impressions_table.insert(), dicts)
                else:
                    marks = ", ".join([placeholder] * len(names))
                    table = impressions_table.name
                    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
                    conn.exec_driver_sql(sql, records)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not log impressions: {str(exc).splitlines()[0]}") from exc
        return len(records)

    def impressions_frame(self, experiment_id: str | None = None) -> pd.DataFrame:
        """Logged impressions (of one experiment, or all of the data set)."""
        t = impressions_table.c
        stmt = select(*(t[c] for c in IMPRESSION_FIELDS)).where(t.dataset == self.dataset)
        if experiment_id is not None:
            stmt = stmt.where(t.experiment_id == experiment_id)
        return self._frame(stmt, IMPRESSION_FIELDS)

    def events_since(self, since_ms: int) -> pd.DataFrame:
        """Events received at or after ``since_ms``, with their ``recommendation_id``."""
        t = events_table.c
        cols = ("user_id", "item_id", "event", "value", "timestamp", "received_at",
                "recommendation_id", "position")  # fmt: skip
        stmt = select(*(t[c] for c in cols)).where(
            t.dataset == self.dataset, t.received_at >= since_ms
        )
        return self._frame(stmt, cols)

    def _frame(self, stmt: Any, cols: Sequence[str]) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(stmt).all(), columns=list(cols))
