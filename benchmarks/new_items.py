"""New-item benchmark: hold 10% of the items out of training, add them back from their
attributes only, and compare their recall@K against random placement (issue: keep learning).

    python benchmarks/new_items.py [--users 3000 --items 1000 --interactions 120000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nextbuy.coldstart import AttributeRidge
from nextbuy.data.catalog import align_catalog
from nextbuy.data.interactions import Interactions
from nextbuy.data.synthetic import generate_shop
from nextbuy.models import registry


def new_item_recall(
    scores_new: np.ndarray, truth_rows: np.ndarray, truth_items: np.ndarray, k: int
) -> float:
    """Mean over users of hits among their true new items / min(K, |truth|)."""
    top = np.argpartition(-scores_new, min(k, scores_new.shape[1] - 1), axis=1)[:, :k]
    hit = (top[truth_rows] == truth_items[:, None]).any(axis=1)
    n_users = scores_new.shape[0]
    hits = np.bincount(truth_rows, hit, n_users)
    count = np.bincount(truth_rows, minlength=n_users)
    return float(np.mean(hits / np.minimum(k, count)))


def run(args: argparse.Namespace) -> list[dict[str, object]]:
    shop = generate_shop(args.users, args.items, args.interactions, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    ids = shop.items["item_id"].to_numpy()
    held = set(rng.choice(ids, size=max(1, int(len(ids) * args.holdout)), replace=False))
    events = shop.interactions
    in_held = events["item_id"].isin(held)
    train = Interactions.from_frame(events[~in_held])
    new_catalog = shop.items[shop.items["item_id"].isin(held)].reset_index(drop=True)
    test = events[in_held & events["user_id"].isin(train.user_map.ids)]
    users, rows = np.unique(train.user_map.index(test["user_id"]), return_inverse=True)
    items = pd.Index(new_catalog["item_id"]).get_indexer(test["item_id"])
    pairs = pd.DataFrame({"r": rows, "i": items}).drop_duplicates()
    started = time.perf_counter()
    ridge = AttributeRidge.fit(align_catalog(shop.items, train.item_map), alpha=args.alpha)
    weights = ridge.weights(new_catalog)
    prep = time.perf_counter() - started
    k = args.k
    n_new = len(new_catalog)
    count = np.bincount(pairs["r"], minlength=len(users))
    random = float(np.mean(np.minimum(k, n_new) / n_new * count / np.minimum(k, count)))
    out = []
    for name in args.models:
        model = registry.create(name).fit(train)
        scores_new = model.score(users) @ weights.T
        recall = new_item_recall(scores_new, pairs["r"].to_numpy(), pairs["i"].to_numpy(), k)
        out.append({"model": name, "recall": recall, "random": random, "lift": recall / random})
    print(
        f"{len(held)} of {len(ids)} items held out; {len(users):,} users interacted with them; "
        f"attribute ridge fitted in {prep:.2f} s (alpha {args.alpha})\n"
    )
    print(f"| model | new-item recall@{k} | random placement | lift |")
    print("| --- | ---: | ---: | ---: |")
    for row in out:
        print(
            f"| {row['model']} | {row['recall']:.3f} | {row['random']:.3f} | {row['lift']:.1f}x |"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--interactions", type=int, default=120_000)
    parser.add_argument("--holdout", type=float, default=0.1)
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["als", "ease", "itemknn"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = run(args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
