"""Tune the models' defaults on MovieLens 100K (protocol train only) or on the synthetic shop.

Each model's Optuna search (``nextbuy.tuning.tune``) fits on part of the *training* split of
the benchmark protocol and scores a validation slice carved from it; the test split is never
read. Ranking models are tuned for NDCG@10 on protocol B's train, rating models for RMSE on
protocol A's train; on the shop, ranking models on a per-user 80 % of the interactions and
rating models on a random 80 % of the ratings. Trials and best parameters go to
``benchmarks/results/tuning/<dataset>-<model>.json`` (and a PNG of the metric by trial).

    python benchmarks/tune_defaults.py --movielens ../shared/data/ml-100k --models ials ease
    python benchmarks/tune_defaults.py --shop --models ials bpmf --trials 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

from nextbuy.data.interactions import Interactions  # noqa: E402
from nextbuy.data.split import split  # noqa: E402
from nextbuy.models import registry  # noqa: E402
from nextbuy.tuning import plot_trials, tune  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "tuning"


def shop_splits(seed: int = 42) -> tuple[Interactions, Interactions]:
    """Training parts of the default synthetic shop: (implicit events, explicit ratings)."""
    from nextbuy.data.synthetic import generate_shop

    shop = generate_shop(seed=seed)
    events = Interactions.from_frame(shop.interactions)
    ratings = Interactions.from_frame(
        shop.ratings.rename(columns={"rating": "value"}), explicit=True
    )
    return (
        split(events, "user", test_fraction=0.2, seed=seed)[0],
        split(ratings, "random", test_fraction=0.2, seed=seed)[0],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--movielens", type=Path, help="MovieLens 100K folder (u.data)")
    source.add_argument("--shop", action="store_true", help="the default synthetic shop")
    parser.add_argument("--models", nargs="+", required=True, help="registered model names")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=None, help="seconds per model")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--folds", type=int, default=1, help="validation slices per trial")
    args = parser.parse_args(argv)

    if args.movielens is not None:
        from nextbuy.evaluation.protocols import protocol_a, protocol_b

        dataset = "movielens-100k"
        ranking_train, rating_train = protocol_b(args.movielens)[0], protocol_a(args.movielens)[0]
    else:
        dataset = "shop"
        ranking_train, rating_train = shop_splits(args.seed)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in args.models:
        model_cls = registry.get(name)
        rating = model_cls.predicts_ratings
        metric = "rmse" if rating else "ndcg@10"
        train = rating_train if rating else ranking_train
        started = time.perf_counter()

        def show(record: dict, name: str = name, metric: str = metric) -> None:
            print(
                f"{name} trial {record['trial']:>3} {record['state']:>8} {metric}="
                f"{record['value']:.5f} {record['seconds']:6.1f}s "
                f"{json.dumps(record['params'], default=str)}",
                flush=True,
            )

        result = tune(
            train,
            name,
            trials=args.trials,
            metric=metric,
            timeout=args.timeout,
            seed=args.seed,
            base_params=dict(model_cls.defaults),
            on_trial=show,
            folds=args.folds,
        )
        out = RESULTS / f"{dataset}-{name}.json"
        payload = {
            "dataset": dataset,
            "model": name,
            "metric": metric,
            "folds": args.folds,
            "best_value": result.best_value,
            "best_params": result.best_params,
            "seconds": round(time.perf_counter() - started, 1),
            "trials": result.trials,
        }
        out.write_text(json.dumps(payload, indent=2, default=str))
        plot_trials(result, out.with_suffix(".png"))
        print(f"== {name}: best {metric} {result.best_value:.5f} {result.best_params}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
