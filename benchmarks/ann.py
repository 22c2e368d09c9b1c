"""Approximate retrieval at a million items: index build, memory, latency, recall@10.

Draws (no training) an ALS model of ``--items`` items x 64 factors with a popularity skew
(``benchmarks/synthetic_factors.py``: taste clusters, category = cluster mod 20, so one
category keeps 5% of the items), and a 20,000-item model drawn the same way as the reference.

1. In process: builds the faiss index (time, memory), then recall@10 of ``--retrieval ann``
   against exact scoring for ``--recall-users`` users, without and with the 5% category
   filter (same service, same snapshot, only the retriever removed for exact).
2. Through the server (``python -m nextbuy.serving``, one worker, cache off, read-only):
   p50/p99 latency of ``GET /recommend/{user}`` for the 20,000-item exact reference, the
   big catalog with ANN (with and without the filter) and the big catalog exact, one request
   at a time, users cycled; the ratios are against the reference of the same run.

    python benchmarks/ann.py                           # 1,000,000 items (a few minutes)
    python benchmarks/ann.py --items 200000 --requests 200   # a quick look
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic_factors import factor_artifact  # noqa: E402
from nextbuy.serving.options import RecommendOptions  # noqa: E402
from nextbuy.serving.process import running_server  # noqa: E402
from nextbuy.serving.service import RecommendationService  # noqa: E402
from nextbuy.serving.settings import ServingSettings  # noqa: E402

CATEGORY = "cat07"  # one of 20: about 5% of the items


def top_ids(svc: RecommendationService, users: list[str], **options: object) -> list[list[str]]:
    """Each user's top-10 item IDs."""
    opts = RecommendOptions(**options)
    return [[r["item_id"] for r in svc.recommend(u, opts)["recommendations"]] for u in users]


def recall(found: list[list[str]], truth: list[list[str]]) -> float:
    """Mean share of the exact top-10 that the approximate top-10 holds."""
    pairs = zip(found, truth, strict=True)
    return float(np.mean([len(set(a) & set(b)) / max(len(b), 1) for a, b in pairs]))


def latency(url: str, users: list[str], n: int, params: dict[str, object]) -> tuple[float, float]:
    """p50 and p99 (ms) of ``n`` sequential GET /recommend/{user} (after 20 warm-up calls)."""
    out = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for i in range(n + 20):
            start = time.perf_counter()
            response = client.get(f"/recommend/{users[i % len(users)]}", params=params)
            response.raise_for_status()
            if i >= 20:
                out.append(time.perf_counter() - start)
    ms = np.array(out) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--reference-items", type=int, default=20_000)
    parser.add_argument("--recall-users", type=int, default=200)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--exact-requests", type=int, default=100)
    parser.add_argument("--nprobe", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="nextbuy-ann-"))
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip

    start = time.perf_counter()
    big = factor_artifact(work, "big", args.users, args.items, seed=1)
    ref = factor_artifact(work, "ref", args.users, args.reference_items, seed=2)
    print(f"drew and saved the models in {time.perf_counter() - start:.1f} s ({work})")

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    settings = ServingSettings(
        model_dir=big, online=False, cache_size=0, retrieval="ann", ann_nprobe=args.nprobe
    )
    svc = RecommendationService(settings)
    svc.load()
    index = svc.snapshot.retriever.index
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    on_disk = sum(p.stat().st_size for p in (big / "ann").iterdir())
    users = [f"u{i:07d}" for i in np.random.default_rng(0).choice(args.users, 1000, False)]
    sample = users[: args.recall_users]
    ann_plain, ann_cat = top_ids(svc, sample), top_ids(svc, sample, categories=[CATEGORY])
    svc.update_snapshot(lambda s: dataclasses.replace(s, retriever=None))
    exact_plain, exact_cat = top_ids(svc, sample), top_ids(svc, sample, categories=[CATEGORY])
    share = float((svc.snapshot.artifact.catalog["category"] == CATEGORY).mean())
    del svc

    print(f"\n### ANN index ({args.items:,} items x 64 factors)\n")
    print("| what | value |\n| --- | --- |")
    print(f"| index | faiss IVF-flat, inner product, {index.nlist} lists, nprobe {index.nprobe} |")
    print(f"| build time | {index.build_seconds:.1f} s |")
    print(
        f"| index memory | {index.nbytes() / 2**20:.0f} MiB (on disk {on_disk / 2**20:.0f} MiB) |"
    )
    print(
        f"| peak RSS growth while loading + building | {(rss_after - rss_before) / 1024:.0f} MiB |"
    )
    plain = recall(ann_plain, exact_plain)
    print(f"| recall@10 vs exact, no filter ({len(sample)} users) | {plain:.3f} |")
    print(f"| recall@10 vs exact, category filter ({share:.1%} of items) | "
          f"{recall(ann_cat, exact_cat):.3f} |")  # fmt: skip

    env = {"NEXTBUY_ACCESS_LOG": "false", "NEXTBUY_CACHE_SIZE": "0", "NEXTBUY_ONLINE": "false",
           "NEXTBUY_ANN_NPROBE": str(args.nprobe)}  # fmt: skip
    rows = []
    cases = [
        ("reference", ref, "exact", {}, args.requests, args.reference_items),
        ("ann", big, "ann", {}, args.requests, args.items),
        ("ann + category filter", big, "ann", {"category": CATEGORY}, args.requests, args.items),
        ("exact", big, "exact", {}, args.exact_requests, args.items),
    ]
    for label, model_dir, mode, params, n, n_items in cases:
        with running_server(
            model_dir, work / f"{label}.log", env={**env, "NEXTBUY_RETRIEVAL": mode}, timeout=600
        ) as server:
            p50, p99 = latency(server.url, users, n, {"k": 10, **params})
        rows.append((label, n_items, mode, n, p50, p99))
    ref_p99 = rows[0][5]
    print("\n### GET /recommend through the server (one worker, one request at a time)\n")
    print("| case | items | retrieval | requests | p50 ms | p99 ms | p99 / reference |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for label, n_items, mode, n, p50, p99 in rows:
        print(f"| {label} | {n_items:,} | {mode} | {n} | {p50:.2f} | {p99:.2f} | "
              f"{p99 / ref_p99:.2f} |")  # fmt: skip
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
