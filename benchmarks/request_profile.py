"""Per-request cost of the hot endpoints, in process: the ASGI app driven without a network.

Builds the app exactly as ``python -m nextbuy.serving`` does (middleware, online layer, cache
off), runs its lifespan, then sends each endpoint's requests straight into the ASGI callable
(1,000 users and items cycled, as ``benchmarks/load.py`` does) and prints the microseconds per
request of each next to ``GET /health``'s, and the ratio. With ``--profile`` it also prints
pyinstrument's top frames per endpoint (what ``benchmarks/results/profile.md`` quotes).

    python benchmarks/request_profile.py --model-dir build/load-bench/shop-100000x20000-f64
    python benchmarks/request_profile.py --model-dir ... --profile --requests 3000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from load import sample_ids  # noqa: E402

Request = tuple[str, str, bytes]


async def call(app: Any, method: str, path: str, body: bytes) -> int:
    """One request through the ASGI app; returns the status (the body is read and dropped)."""
    raw_path, _, query = path.partition("?")
    headers = [(b"host", b"127.0.0.1")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": raw_path, "raw_path": raw_path.encode(), "root_path": "",
        "query_string": query.encode(), "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def run(app: Any, requests: list[Request], n: int) -> float:
    """CPU microseconds per request (this process: a loaded machine slows wall time, not this)
    over ``n`` requests cycled from ``requests`` (all must answer 200)."""
    start = time.process_time()
    for i in range(n):
        method, path, body = requests[i % len(requests)]
        status = await call(app, method, path, body)
        if status != 200:
            raise SystemExit(f"{method} {path} answered {status}")
    return (time.process_time() - start) / n * 1e6


async def main_async(args: argparse.Namespace, store: Path) -> None:
    from nextbuy.serving.app import create_app
    from nextbuy.serving.settings import ServingSettings

    settings = ServingSettings(
        model_dir=args.model_dir, cache_size=0, ui=False, database_url=f"sqlite:///{store}"
    )
    app = create_app(settings)
    users, items = sample_ids(args.model_dir, 1000)
    endpoints: dict[str, list[Request]] = {
        "GET /health": [("GET", "/health", b"")],
        "POST /recommend": [
            ("POST", "/recommend", json.dumps({"user_id": u, "k": 10}).encode()) for u in users
        ],
        "GET /items/{id}/similar": [("GET", f"/items/{i}/similar?k=10", b"") for i in items],
        "POST /predict/rating": [
            ("POST", "/predict/rating", json.dumps({"user_id": u, "item_id": i}).encode())
            for u, i in zip(users, items, strict=True)
        ],
    }
    async with app.router.lifespan_context(app):
        for requests in endpoints.values():  # warm-up: caches, lazy imports, page faults
            await run(app, requests, 300)
        rounds: dict[str, list[float]] = {name: [] for name in endpoints}
        for _ in range(args.rounds):  # interleaved, the fastest round kept: others' load adds
            for name, requests in endpoints.items():
                rounds[name].append(await run(app, requests, args.requests))
        timings = {name: min(values) for name, values in rounds.items()}
        health = timings["GET /health"]
        print(f"fastest of {args.rounds} interleaved rounds of {args.requests:,} requests each\n")
        print("| endpoint | CPU µs per request (in process) | x GET /health's rate |")
        print("| --- | ---: | ---: |")
        for name, us in timings.items():
            print(f"| {name} | {us:,.0f} | {health / us:.2f} |")
        if args.profile:
            from pyinstrument import Profiler

            for name, requests in endpoints.items():
                if args.only and not any(word in name for word in args.only):
                    continue
                profiler = Profiler(interval=0.0001, async_mode="enabled")
                profiler.start()
                await run(app, requests, args.requests)
                profiler.stop()
                print(f"\n### {name}\n")
                print("```")
                print(
                    profiler.output_text(unicode=False, color=False, show_all=args.show_all).strip()
                )
                print("```")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per endpoint (fastest kept)")
    parser.add_argument("--profile", action="store_true", help="print pyinstrument's frames")
    parser.add_argument("--show-all", action="store_true", help="frames of libraries too")
    parser.add_argument("--only", nargs="*", default=None, help="profile these endpoints only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:  # a fresh event store: impressions pile up
        asyncio.run(main_async(args, Path(tmp) / "events.db"))


if __name__ == "__main__":
    main()
