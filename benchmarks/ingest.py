"""Event ingestion benchmark: POST /events through the real server in batches of 1,000, on
PostgreSQL and SQLite, next to the raw store rate (EventStore.add_events, no HTTP).

    python benchmarks/ingest.py [--events 200000] [--clients 1 2 4] [--pg-url URL]
        [--backends postgresql sqlite] [--json benchmarks/results/ingest.json]

The server is ``python -m nextbuy.serving`` (one uvicorn worker) serving a small ALS model;
each POST is answered after its transaction commits and after the events are applied to the
users' histories. Bodies are serialised before the clock starts, so the client's own JSON work
is not counted. PostgreSQL tables go to a fresh schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson

from nextbuy.artifacts import save_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.data.synthetic import generate_shop
from nextbuy.models import registry
from nextbuy.serving.process import running_server
from nextbuy.store import EventStore

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
EVENTS = ("view", "view", "view", "cart", "purchase")


def make_batches(n_events: int, batch: int, n_users: int, items: list[str]) -> list[list[dict]]:
    """Batches of events with unique client IDs (a run never collides with an earlier one)."""
    run = uuid.uuid4().hex[:8]
    out = []
    for b in range(n_events // batch):
        out.append(
            [
                {
                    "event_id": f"{run}-{b}-{i}",
                    "user_id": f"u{(b * 7919 + i) % n_users:06d}",
                    "item_id": items[(b * 104729 + i * 31) % len(items)],
                    "event": EVENTS[i % len(EVENTS)],
                    "value": 1.0,
                    "timestamp": 1_714_560_000 + b,
                }
                for i in range(batch)
            ]
        )
    return out


@contextmanager
def pg_schema(url: str) -> Iterator[str]:
    from sqlalchemy import text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = EventStore(url, migrate=False)
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.close()


@contextmanager
def database(backend: str, pg_url: str, folder: Path) -> Iterator[str]:
    if backend == "postgresql":
        with pg_schema(pg_url) as url:
            yield url
    else:
        path = folder / f"events-{uuid.uuid4().hex[:6]}.db"
        yield f"sqlite:///{path}"


@contextmanager
def server(model_dir: Path, database_url: str, log: Path) -> Iterator[str]:
    """``python -m nextbuy.serving`` on a free port with its store at ``database_url``."""
    env = {"NEXTBUY_DATABASE_URL": database_url, "NEXTBUY_ACCESS_LOG": "false",
           "NEXTBUY_LOG_LEVEL": "warning", }  # fmt: skip
    with running_server(model_dir, log, env=env) as proc:
        yield proc.url


def post_all(url: str, bodies: list[bytes], clients: int) -> tuple[float, int]:
    """Post every body with ``clients`` threads; (seconds, events acknowledged)."""
    lock = threading.Lock()
    queue = list(range(len(bodies)))
    stored = [0]
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while True:
                with lock:
                    if not queue:
                        return
                    i = queue.pop()
                r = http.post(
                    "/events", content=bodies[i], headers={"content-type": "application/json"}
                )
                if r.status_code != 200:
                    errors.append(r.text[:200])
                    return
                with lock:
                    stored[0] += r.json()["stored"]

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"POST /events failed: {errors[0]}")
    return seconds, stored[0]


def raw_rate(database_url: str, batches: list[list[dict]]) -> float:
    """Events per second of EventStore.add_events alone (one writer, batches as given)."""
    store = EventStore(database_url)
    try:
        start = time.perf_counter()
        for rows in batches:
            store.add_events(rows)
        return sum(len(b) for b in batches) / (time.perf_counter() - start)
    finally:
        store.close()


def run(args: argparse.Namespace) -> list[dict[str, object]]:
    shop = generate_shop(n_users=args.users, n_items=args.items, n_interactions=50_000, seed=42)
    items = shop.items["item_id"].tolist()
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="nextbuy-ingest-") as tmp:
        folder = Path(tmp)
        train = Interactions.from_frame(shop.interactions)
        model = registry.create("als", factors=32, iterations=3).fit(train)
        save_artifact(model, train, folder / "models", "als", catalog=shop.items)
        for backend in args.backends:
            batches = make_batches(args.events, args.batch, args.users, items)
            with database(backend, args.pg_url, folder) as url:
                rate = raw_rate(url, batches[: max(1, len(batches) // 4)])
            results.append(
                {"backend": backend, "path": "store", "clients": 1, "events_per_s": rate}
            )
            print(f"{backend:10} raw store            {rate:10,.0f} events/s", flush=True)
            for clients in args.clients:
                batches = make_batches(args.events, args.batch, args.users, items)
                bodies = [orjson.dumps({"events": b}) for b in batches]
                with database(backend, args.pg_url, folder) as url:
                    with server(folder / "models" / "als", url, folder / "server.log") as base:
                        seconds, stored = post_all(base, bodies, clients)
                    store = EventStore(url)
                    count = store.count_events()
                    store.close()
                n = sum(len(b) for b in batches)
                assert stored == n == count, (stored, n, count)
                rate = n / seconds
                results.append(
                    {"backend": backend, "path": "POST /events", "clients": clients,
                     "events_per_s": rate, "events": n, "seconds": seconds}
                )  # fmt: skip
                print(f"{backend:10} POST /events, {clients} client(s) {rate:10,.0f} events/s",
                      flush=True)  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/ingest.json"))
    args = parser.parse_args()
    results = run(args)
    print()
    print(f"Ingestion, batches of {args.batch:,} events ({args.events:,} per run), "
          f"{os.cpu_count()} cores, server and database on one machine")  # fmt: skip
    print()
    print("| backend | path | clients | events/s |")
    print("| --- | --- | ---: | ---: |")
    for r in results:
        print(f"| {r['backend']} | {r['path']} | {r['clients']} | {r['events_per_s']:,.0f} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {"batch": args.batch, "events": args.events, "cpus": os.cpu_count(),
            "python": platform.python_version(), "command": " ".join(sys.argv)}  # fmt: skip
    args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
