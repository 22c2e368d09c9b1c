"""Refit with searched values as found vs kept relative to their density rules: test NDCG@10.

Runs ``--model auto`` (budget 2m) on one data set's protocol-B-style split, then refits each
family's best setting on the whole training split twice: with the values the search found on
the fit part, and with them moved by :func:`nextbuy.selection.transfer.transfer_winner`.

    python benchmarks/refit_transfer.py --shop-density 5 --split user
    python benchmarks/refit_transfer.py --movielens ../shared/data/ml-100k --split latest
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nextbuy.evaluation import evaluate
from nextbuy.models import registry
from nextbuy.models.defaults import DataShape
from nextbuy.selection import select, space
from nextbuy.selection.transfer import moved_words, transfer_winner
from nextbuy.selection.validation import carve, validation_kind

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # run as a script: the sibling modules live in the benchmarks package
    sys.path.insert(0, _ROOT)
from benchmarks.quality_sets import movielens, protocols, read_lastfm, shop  # noqa: E402

#: Families with no axis a density rule governs.
UNRULED = frozenset({"popularity", "trending", "sasrec"})


def main(argv: list[str] | None = None) -> int:
    """Print, per family, the test NDCG@10 of both refits; exit 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, help="ml-100k folder")
    parser.add_argument("--lastfm", type=Path, help="Last.fm HetRec user_artists.dat")
    parser.add_argument("--shop-density", type=int, help="synthetic shop, N per user")
    parser.add_argument("--split", default="user", choices=("user", "latest"))
    args = parser.parse_args(argv)
    if args.movielens is not None:
        inter = movielens(args.movielens)
    elif args.lastfm is not None:
        inter = read_lastfm(args.lastfm)
    else:
        inter = shop(args.shop_density or 5)
    _, train, test = next(p for p in protocols(inter) if p[0] == args.split)
    load = os.getloadavg()[0]
    chosen = select(train, budget="2m", seed=42, split=args.split)
    auto = evaluate(chosen.model, train, test, k=10).metrics["ndcg@10"]
    print(f"auto -> {chosen.family}: test NDCG@10 {auto:.4f} (load {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after)")  # fmt: skip
    fit_part, _ = carve(train, validation_kind(args.split, train, "ndcg"), seed=42)
    shapes = DataShape.of(fit_part), DataShape.of(train)
    defaults = {f: space.family_defaults(f) for f in (*space.RANKING_FAMILIES, "trending")}
    for trial in chosen.leaderboard.best_per_family():
        if trial.family in UNRULED:
            continue
        moved = transfer_winner(trial.family, trial.params, defaults, *shapes)
        words = moved_words(trial.params, moved)
        if not words:
            print(f"  {trial.family:<9} nothing searched on a rule axis")
            continue
        found, kept = (
            evaluate(registry.create(trial.family, **p).fit(train), train, test, k=10).metrics[
                "ndcg@10"
            ]
            for p in (trial.params, moved)
        )
        print(f"  {trial.family:<9} as found {found:.4f}, kept relative {kept:.4f} "
              f"({kept / found:.3f}x): {words}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
