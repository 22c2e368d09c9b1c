"""bpmf with and without its timeSVD++ terms on MovieLens 100K: protocol A and a time-ordered split.

Protocol A is DESIGN section 7's random 80/20 split of the ratings; the time-ordered split
trains on the earliest 80% of the same 100,000 ratings and tests on the latest 20% (what a
shop predicts: the future). Each setting is fitted once per split and its test RMSE is shown
with the test timestamps passed to ``predict`` and without them (latest bin, mean offset).

    python benchmarks/bpmf_time.py --movielens ../shared/data/ml-100k
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import numpy as np

from nextbuy.data.interactions import Interactions
from nextbuy.evaluation.protocols import protocol_a
from nextbuy.models import registry

#: (label, bpmf parameters) compared; the first is the shipped default.
SETTINGS = (
    ("off (default)", {}),
    ("time_bins=4", {"time_bins": 4}),
    ("time_bins=4, no day term", {"time_bins": 4, "user_day": False}),
)


def time_ordered(train: Interactions, test: Interactions) -> tuple[Interactions, Interactions]:
    """Protocol A's rows re-split at the 80% quantile of their timestamps (same ID maps)."""
    arrays = ("users", "items", "values", "timestamps")
    rows = {a: np.concatenate([getattr(train, a), getattr(test, a)]) for a in arrays}
    cut = np.quantile(rows["timestamps"], 0.8)
    early = rows["timestamps"] <= cut
    return tuple(  # type: ignore[return-value]
        dataclasses.replace(train, **{a: v[mask] for a, v in rows.items()})
        for mask in (early, ~early)
    )


def rmse(model: object, test: Interactions, stamps: bool) -> float:
    """Test RMSE of ``model.predict``, with or without each rating's timestamp."""
    at = test.timestamps if stamps else None
    pred = model.predict(test.users, test.items, timestamps=at)  # type: ignore[attr-defined]
    return float(np.sqrt(np.mean((pred - test.values) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, required=True, help="ml-100k folder")
    args = parser.parse_args()
    train, test = protocol_a(args.movielens)
    splits = {"protocol A": (train, test), "time-ordered": time_ordered(train, test)}
    print(f"load average before: {os.getloadavg()}")
    print("| split | setting | RMSE with timestamps | RMSE without | fit s |")
    print("|---|---|---|---|---|")
    for split, (tr, te) in splits.items():
        for label, params in SETTINGS:
            start = time.perf_counter()
            model = registry.create("bpmf", **params).fit(tr)
            fit_s = time.perf_counter() - start
            print(f"| {split} | {label} | {rmse(model, te, True):.5f} | "
                  f"{rmse(model, te, False):.5f} | {fit_s:.1f} |", flush=True)  # fmt: skip
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
