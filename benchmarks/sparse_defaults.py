"""Untuned defaults against popularity on the synthetic shop: densities x seeds x splits.

Checks that the density rules (``nextbuy.models.defaults``) hold beyond one generated shop:
each case is a shop from ``quality_sets.shop`` (about N interactions per user, generator seed
S), split per user at random (20%, seed 42) and by each user's latest 20%. Rows: NDCG@10 of
popularity, and of each family (ALS and iALS by default) as a ratio to it: the shipped
defaults and, for ALS/iALS, the same without the popularity prior and the previous rules
(factors 64 / cbrt(sparsity), no prior).

    python benchmarks/sparse_defaults.py --out benchmarks/results
    python benchmarks/sparse_defaults.py --families itemknn,rp3beta,ease,userease,bpr,blend \
        --out benchmarks/results --name sparse-defaults-families
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ as a package

import numpy as np  # noqa: E402

from benchmarks.quality_sets import protocols, shop  # noqa: E402
from nextbuy.data.interactions import Interactions  # noqa: E402
from nextbuy.evaluation import evaluate  # noqa: E402
from nextbuy.models import registry  # noqa: E402
from nextbuy.models.defaults import DataShape, factors  # noqa: E402


def variants(family: str, train: Interactions) -> dict[str, dict[str, Any]]:
    """Label -> parameters: shipped defaults, and for ALS/iALS the two ablations."""
    if family not in ("als", "ials"):
        return {family: {}}
    return {
        family: {},
        f"{family} no prior": {"popularity_prior": 0.0},
        f"{family} previous": {"popularity_prior": 0.0, "factors": factors(DataShape.of(train))},
    }


def ndcg(name: str, train: Interactions, test: Interactions, **params: Any) -> float:
    model = registry.create(name, **params).fit(train)
    return float(evaluate(model, train, test, k=10).metrics["ndcg@10"])


def run(densities: list[int], seeds: list[int], families: list[str]) -> list[dict[str, Any]]:
    """One record per (density, seed, split): popularity's NDCG@10 and each variant's ratio."""
    records = []
    for density in densities:
        for seed in seeds:
            for split, train, test in protocols(shop(density, seed=seed)):
                pop = ndcg("popularity", train, test)
                ratios = {
                    label: round(ndcg(family, train, test, **params) / pop, 4)
                    for family in families
                    for label, params in variants(family, train).items()
                }
                record = {"density": density, "seed": seed, "split": split, "popularity": pop}
                records.append({**record, "ratios": ratios})
                shown = " ".join(f"{k}={v:.3f}" for k, v in ratios.items())
                print(
                    f"{density:>3}/user seed {seed:<3} {split:<6} pop {pop:.4f} {shown}", flush=True
                )
    return records


def markdown(records: list[dict[str, Any]], header: str) -> str:
    """The cases as one table (ratios to popularity), then each variant's worst and mean."""
    labels = list(records[0]["ratios"])
    lines = [
        header,
        "",
        "| per user | seed | split | popularity NDCG@10 | " + " | ".join(labels) + " |",
        "|---|---|---|---|" + "---|" * len(labels),
    ]
    for r in records:
        cells = " | ".join(f"{r['ratios'][k]:.3f}" for k in labels)
        lines.append(
            f"| {r['density']} | {r['seed']} | {r['split']} | {r['popularity']:.4f} | {cells} |"
        )
    for stat, fn in (("worst", np.min), ("mean", np.mean)):
        cells = " | ".join(f"**{fn([r['ratios'][k] for r in records]):.3f}**" for k in labels)
        lines.append(f"| {stat} | | | | {cells} |")
    lines += [
        "",
        "Ratios are NDCG@10 / popularity's on the same split (user = per-user random 20%,",
        "latest = each user's latest 20%); below 1.000 is under the bestseller list.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--density", type=int, action="append", help="per user (repeatable)")
    parser.add_argument("--seed", type=int, action="append", help="generator seed (repeatable)")
    parser.add_argument("--families", default="als,ials", help="comma-separated model names")
    parser.add_argument("--out", type=Path, default=None, help="folder for the results")
    parser.add_argument("--name", default="sparse-defaults", help="results file name (.md, .json)")
    args = parser.parse_args(argv)
    densities, seeds = args.density or [5, 10, 20, 50], args.seed or [42, 1, 2]
    families = [f for f in args.families.split(",") if f]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = [round(x, 2) for x in os.getloadavg()]
    t0 = time.perf_counter()
    records = run(densities, seeds, families)
    command = "python benchmarks/sparse_defaults.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    header = (
        f"Measured {started} on {os.cpu_count()} cores, load average {load} at the start, "
        f"{time.perf_counter() - t0:.0f} s. Command: `{command.strip()}`"
    )
    text = markdown(records, header)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{args.name}.md").write_text(text)
        payload = {"measured": started, "load": load, "command": command, "records": records}
        (args.out / f"{args.name}.json").write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
