"""``--model auto`` on MovieLens 100K protocol B: test NDCG@10, wall time, load, leaderboard.

The search sees only the protocol's training split (its validation slice is carved from it);
the test split scores the refitted winner once, next to popularity and the shipped blend
fitted in the same process (the reference of the same run).

    python benchmarks/auto.py --movielens ../shared/data/ml-100k --budget 2m
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from nextbuy.evaluation import evaluate
from nextbuy.evaluation.protocols import protocol_b
from nextbuy.models import registry
from nextbuy.selection import select
from nextbuy.selection.leaderboard import leaderboard_table


def main(argv: list[str] | None = None) -> int:
    """Run auto once under ``--budget`` and print the tables; exit 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, required=True, help="ml-100k folder")
    parser.add_argument("--budget", default="2m", help="auto's budget (2m)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    console = Console(width=140)
    train, test = protocol_b(args.movielens)
    load_before = os.getloadavg()
    start = time.perf_counter()
    chosen = select(train, budget=args.budget, seed=args.seed, split="user", show_progress=True)
    wall = time.perf_counter() - start
    load_after = os.getloadavg()
    console.print(leaderboard_table(chosen.manifest()))
    table = Table(
        title=f"protocol B, test split ({dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC)"
    )
    for col in ("model", "NDCG@10", "Recall@10", "fit s"):
        table.add_column(col, justify="left" if col == "model" else "right")
    rows = [(f"auto ({chosen.family}, --budget {args.budget})", chosen.model, wall)]
    for name in ("blend", "popularity"):
        begin = time.perf_counter()
        model = registry.create(name).fit(train)
        rows.append((f"{name} (shipped defaults)", model, time.perf_counter() - begin))
    for label, model, seconds in rows:
        metrics = evaluate(model, train, test, k=10).metrics
        table.add_row(
            label, f"{metrics['ndcg@10']:.4f}", f"{metrics['recall@10']:.4f}", f"{seconds:.1f}"
        )
    console.print(table)
    console.print(
        f"auto: search {chosen.search_seconds:.1f} s + refit {chosen.refit_seconds:.1f} s = "
        f"{wall:.1f} s wall; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"({os.cpu_count()} cores)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
