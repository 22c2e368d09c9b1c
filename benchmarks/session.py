"""Session latency: ``POST /recommend/session`` with a 50-item session against a known user's
``POST /recommend`` p99, on the same real server in the same run (target: <= 3x).

    python benchmarks/session.py [--users 3000 --items 2000 --interactions 60000]
        [--models sasrec als] [--requests 1000]

The shop is generated with sequential journeys; each model is trained small, saved, and served
by ``python -m nextbuy.serving`` (one worker, answer cache off so every request is computed).
Requests alternate between the two kinds so noise from other processes hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from nextbuy.artifacts import save_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.data.synthetic import generate_shop
from nextbuy.models import registry
from nextbuy.serving.process import running_server

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import machine  # noqa: E402

PARAMS: dict[str, dict[str, object]] = {
    "sasrec": {"epochs": 10, "max_len": 50},
    "als": {"factors": 64, "iterations": 5},
}


def p(ms: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(ms), q))


def measure(url: str, user: str, session: list[str], n: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"known user": [], "50-item session": []}
    calls = {
        "known user": ("/recommend", {"user_id": user, "k": 10}),
        "50-item session": ("/recommend/session", {"items": session, "k": 10}),
    }
    with httpx.Client(base_url=url, timeout=30) as http:
        for path, body in calls.values():  # warm-up
            for _ in range(30):
                http.post(path, json=body)
        for _ in range(n):
            for name, (path, body) in calls.items():
                start = time.perf_counter()
                r = http.post(path, json=body)
                times[name].append((time.perf_counter() - start) * 1000)
                assert r.status_code == 200 and r.json()["strategy"] == "personalized", r.text
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--interactions", type=int, default=60_000)
    parser.add_argument("--models", nargs="+", default=["sasrec", "als"])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    info = machine()
    shop = generate_shop(args.users, args.items, args.interactions, seed=42, sequential=0.5)
    train = Interactions.from_frame(shop.interactions)
    counts = np.diff(train.csr.indptr)
    user = str(train.user_map.to_ids(np.flatnonzero(counts == int(np.median(counts)))[:1])[0])
    rng = np.random.default_rng(0)
    session = [str(i) for i in rng.choice(shop.items["item_id"].to_numpy(), 50, replace=False)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="nextbuy-session-") as tmp:
        folder = Path(tmp)
        env = {
            "NEXTBUY_ACCESS_LOG": "false",
            "NEXTBUY_LOG_LEVEL": "warning",
            "NEXTBUY_CACHE_SIZE": "0",
            "NEXTBUY_DATABASE_URL": f"sqlite:///{folder}/e.db",
        }
        for name in args.models:
            model = registry.create(name, **PARAMS.get(name, {})).fit(train)
            save_artifact(model, train, folder / "models", name, catalog=shop.items)
            with running_server(folder / "models" / name, folder / "log", env=env) as proc:
                times = measure(proc.url, user, session, args.requests)
            known, sess = times["known user"], times["50-item session"]
            rows.append({"model": name, "known_p50_ms": p(known, 50), "known_p99_ms": p(known, 99),
                         "session_p50_ms": p(sess, 50), "session_p99_ms": p(sess, 99),
                         "ratio_p99": p(sess, 99) / p(known, 99)})  # fmt: skip
    info["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"Measured {info['date']} on {info['cpu']} ({info['cores']} cores); load "
          f"{info['load_average']} before, {info['load_average_after']} after.")  # fmt: skip
    print(
        "| model | known user p50 / p99 ms | 50-item session p50 / p99 ms | session / known p99 |"
    )
    print("|---|---|---|---|")
    for r in rows:
        known = f"{r['known_p50_ms']:.2f} / {r['known_p99_ms']:.2f}"
        sess = f"{r['session_p50_ms']:.2f} / {r['session_p99_ms']:.2f}"
        print(f"| {r['model']} | {known} | {sess} | {r['ratio_p99']:.2f}x |")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
