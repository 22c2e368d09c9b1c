"""Ranking from rating models: does one rarely rated item top everyone's list?

Fits each rating model on MovieLens 100K protocol A's training split with ``rank_support`` set
to each given value (0 = rank by predicted rating) and reports, over every user's top-10 of
unseen items: the share of users whose #1 is the same item, the share of users whose top-10
holds the most recommended item (and its number of ratings), catalogue coverage@10, the
median number of training ratings of the recommended items, and NDCG@10 against protocol A's
test ratings of 4 or more (relevance), next to the RMSE (``predict`` is never shrunk).

    python benchmarks/rating_ranking.py --movielens ../shared/data/ml-100k
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from nextbuy.evaluation import evaluate
from nextbuy.evaluation.concentration import SAME_TOP
from nextbuy.evaluation.protocols import protocol_a
from nextbuy.models import registry

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, required=True, help="ml-100k folder")
    parser.add_argument("--models", nargs="+", default=["mf", "bpmf"])
    parser.add_argument("--support", nargs="+", type=float, default=[0.0, 10.0, 25.0, 50.0])
    parser.add_argument("--out", type=Path, default=RESULTS / "rating-ranking.md")
    args = parser.parse_args(argv)
    train, test = protocol_a(args.movielens)
    counts = np.bincount(train.items, minlength=train.n_items)
    started = dt.datetime.now(dt.timezone.utc)
    load = os.getloadavg()
    table = Table(title="Rating models ranking all unseen items (protocol A, top-10)")
    header = [
        "model",
        "rank_support",
        "same #1",
        "top item in top-10",
        "its n_i",
        "coverage@10",
        "median n_i",
        "NDCG@10",
        "RMSE",
    ]
    for name in header:
        table.add_column(name, justify="left" if name == "model" else "right")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in args.models:
        model = registry.create(name).fit(train)
        for support in args.support:
            model.set_params(rank_support=support)  # scoring only: no refit needed
            result = evaluate(model, train, test, k=10, relevance_threshold=4.0, ratings=True)
            recs, _ = model.recommend(np.arange(train.n_users), k=10)
            in_lists = np.bincount(recs[recs >= 0], minlength=train.n_items)
            top = int(in_lists.argmax())
            row = [
                name,
                f"{support:g}",
                f"{result.metrics[SAME_TOP]:.3f}",
                f"{in_lists[top] / train.n_users:.3f}",
                f"{counts[top]}",
                f"{result.metrics['coverage@10']:.3f}",
                f"{np.median(counts[recs[recs >= 0]]):.0f}",
                f"{result.metrics['ndcg@10']:.4f}",
                f"{result.metrics['rmse']:.4f}",
            ]
            table.add_row(*row)
            lines.append("| " + " | ".join(row) + " |")
    Console().print(table)
    note = (  # the table's provenance
        f"Measured {started:%Y-%m-%d %H:%M} UTC, load average {load[0]:.2f} before and "
        f"{os.getloadavg()[0]:.2f} after. Command: `python benchmarks/rating_ranking.py "
        f"{' '.join(sys.argv[1:] if argv is None else argv)}`"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(note + "\n\n" + "\n".join(lines) + "\n")
    print(note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
