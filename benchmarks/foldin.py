"""Fold-in latency benchmark: what 50 stored events add to a user's ``/recommend`` p99.

    python benchmarks/foldin.py [--users 20000 --items 20000 --interactions 400000]
        [--models als itemknn] [--requests 3000] [--json benchmarks/results/foldin.json]

For each model a real server (``python -m nextbuy.serving``, one worker, SQLite store, answer
cache off so every request is computed) answers three users in turn: a known user with no
events since training (the plain path), the same kind of known user with 50 stored events
(scored from training row + events), and a brand-new user with 50 events. The added p99 is
the difference to the plain user's p99. The same is measured in-process (the service alone,
no HTTP), which isolates the fold-in from network noise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from threadpoolctl import threadpool_limits

from nextbuy.artifacts import save_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.data.synthetic import generate_shop
from nextbuy.models import registry
from nextbuy.serving.process import running_server

PARAMS = {
    "als": {"factors": 64, "iterations": 5},
    "itemknn": {},
    "ease": {},
}


@contextmanager
def server(model_dir: Path, database_url: str, log: Path) -> Iterator[str]:
    """``python -m nextbuy.serving`` on a free port with its store at ``database_url``."""
    env = {"NEXTBUY_DATABASE_URL": database_url, "NEXTBUY_ACCESS_LOG": "false",
           "NEXTBUY_LOG_LEVEL": "warning", "NEXTBUY_CACHE_SIZE": "0", }  # fmt: skip
    with running_server(model_dir, log, env=env) as proc:
        yield proc.url


def events_for(user: str, items: list[str], n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(items), size=n, replace=False)
    kinds = np.array(["view", "view", "cart", "purchase"])[rng.integers(0, 4, n)]
    return [
        {"event_id": f"{user}-{i}", "user_id": user, "item_id": items[j], "event": str(kind)}
        for i, (j, kind) in enumerate(zip(picks.tolist(), kinds.tolist(), strict=True))
    ]


def percentiles(ms: list[float]) -> dict[str, float]:
    arr = np.asarray(ms)
    return {"p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99)),
            "mean": float(arr.mean())}  # fmt: skip


def over_http(url: str, users: dict[str, str], n: int) -> dict[str, dict[str, float]]:
    """Round-robin over the scenarios (so noise hits all alike); latency per scenario in ms."""
    times: dict[str, list[float]] = {name: [] for name in users}
    with httpx.Client(base_url=url, timeout=30) as http:
        for user in users.values():  # warm-up
            for _ in range(50):
                http.post("/recommend", json={"user_id": user, "k": 10})
        for _ in range(n):
            for name, user in users.items():
                start = time.perf_counter()
                r = http.post("/recommend", json={"user_id": user, "k": 10})
                times[name].append((time.perf_counter() - start) * 1000)
                assert r.status_code == 200 and r.json()["strategy"] == "personalized", r.text
    return {name: percentiles(ms) for name, ms in times.items()}


def in_process(model_dir: Path, url: str, users: dict[str, str], n: int) -> dict[str, dict]:
    """The service alone (no HTTP), same store: recommend() per scenario in ms."""
    from nextbuy.serving.app import create_app
    from nextbuy.serving.options import RecommendOptions
    from nextbuy.serving.settings import ServingSettings

    settings = ServingSettings(model_dir=model_dir, database_url=url, cache_size=0,
                               sync_interval_s=0, access_log=False)  # fmt: skip
    app = create_app(settings)
    service = app.state.service
    app.state.online.open(service)
    service.load()
    options = RecommendOptions(k=10)
    times: dict[str, list[float]] = {name: [] for name in users}
    with threadpool_limits(1, "blas"):  # as the server runs (NEXTBUY_BLAS_THREADS=1)
        for _ in range(50):
            for user in users.values():
                service.recommend(user, options)
        for _ in range(n):
            for name, user in users.items():
                start = time.perf_counter()
                service.recommend(user, options)
                times[name].append((time.perf_counter() - start) * 1000)
    app.state.online.close()
    return {name: percentiles(ms) for name, ms in times.items()}


def run(args: argparse.Namespace) -> list[dict[str, object]]:
    shop = generate_shop(args.users, args.items, args.interactions, seed=42)
    train = Interactions.from_frame(shop.interactions)
    counts = np.diff(train.csr.indptr)
    # two known users with a typical history length (the median), one plain, one with events
    median = int(np.median(counts))
    typical = np.flatnonzero(counts == median)
    plain_user, event_user = (str(u) for u in train.user_map.to_ids(typical[:2]))
    items = shop.items["item_id"].tolist()
    results = []
    with tempfile.TemporaryDirectory(prefix="nextbuy-foldin-") as tmp:
        folder = Path(tmp)
        for name in args.models:
            started = time.perf_counter()
            model = registry.create(name, **PARAMS.get(name, {})).fit(train)
            fit_s = time.perf_counter() - started
            save_artifact(model, train, folder / "models", name, catalog=shop.items)
            url = f"sqlite:///{folder / f'{name}.db'}"
            users = {"known, no events": plain_user, "known + 50 events": event_user,
                     "new, 50 events": "newcomer"}  # fmt: skip
            with server(folder / "models" / name, url, folder / "server.log") as base:
                for user, seed in ((event_user, 1), ("newcomer", 2)):
                    r = httpx.post(base + "/events", json=events_for(user, items, 50, seed))
                    assert r.json()["stored"] == 50, r.text
                http = over_http(base, users, args.requests)
            local = in_process(folder / "models" / name, url, users, args.requests)
            for path, table in (("HTTP", http), ("in-process", local)):
                base_p99 = table["known, no events"]["p99"]
                for scenario, stats in table.items():
                    results.append(
                        {"model": name, "path": path, "scenario": scenario, **stats,
                         "added_p99": stats["p99"] - base_p99, "fit_s": fit_s}
                    )  # fmt: skip
            print(f"{name}: done", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=400_000)
    parser.add_argument("--models", nargs="+", default=["als", "itemknn"])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/foldin.json"))
    args = parser.parse_args()
    results = run(args)
    print()
    print(f"/recommend latency (ms, k=10, cache off), {args.users:,} users x {args.items:,} "
          f"items, {args.requests:,} requests per scenario, {os.cpu_count()} cores")  # fmt: skip
    print()
    print("| model | path | user | p50 | p99 | added p99 |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['model']} | {r['path']} | {r['scenario']} | {r['p50']:.2f} | "
              f"{r['p99']:.2f} | {r['added_p99']:+.2f} |")  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {"users": args.users, "items": args.items, "interactions": args.interactions,
            "requests": args.requests, "cpus": os.cpu_count(),
            "python": platform.python_version(), "command": " ".join(sys.argv)}  # fmt: skip
    args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
