"""The `make demo` job: sample shop -> ALS and MF -> evaluation against popularity -> top-5."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from nextbuy.config import load_config
from nextbuy.training import TrainResult

#: Metrics the demo and `nextbuy train` print (all of them are in the manifest and --json).
COMPACT_METRICS = [
    "precision",
    "recall",
    "ndcg",
    "map",
    "hit_rate",
    "coverage",
    "rmse",
    "mae",
    "same_top1",
]


def run_demo(
    data_dir: Path, models_dir: Path, seed: int = 42, show_progress: bool = True
) -> dict[str, TrainResult]:
    """Generate the built-in shop, train ALS (events) and MF (ratings), evaluate, recommend.

    Returns the training results by model name so tests can assert on the same numbers
    the demo prints.
    """
    from nextbuy.artifacts import load_artifact
    from nextbuy.data.synthetic import generate_shop, write_shop
    from nextbuy.evaluation.report import results_table
    from nextbuy.training import train_model

    console = Console(width=max(Console().width, 120))
    started = time.perf_counter()
    shop = generate_shop(seed=seed)
    paths = write_shop(shop, data_dir)
    console.print(
        f"[bold]1. sample shop[/bold] {len(shop.interactions):,} events, "
        f"{len(shop.ratings):,} ratings, {len(shop.items):,} products -> {data_dir}"
    )
    config = load_config()
    results: dict[str, TrainResult] = {}
    console.print("[bold]2. ALS on implicit events[/bold] (per-user 20% held out)")
    results["als"] = train_model(
        paths["interactions"],
        model="als",
        out=models_dir,
        name="als",
        items=paths["items"],
        split="user",
        config=config,
        show_progress=show_progress,
    )
    console.print("[bold]3. explicit MF (PyTorch) on ratings[/bold] (random 20% held out)")
    results["mf"] = train_model(
        paths["ratings"],
        model="mf",
        out=models_dir,
        name="mf",
        items=paths["items"],
        split="random",
        config=config,
        show_progress=show_progress,
    )
    for key, data in (("als", "events"), ("mf", "ratings")):
        for evaluation in results[key].evaluations:
            evaluation.model = f"{evaluation.model} ({data})"
    console.print(
        results_table(
            results["als"].evaluations + results["mf"].evaluations,
            title="held-out evaluation at K=10 (popularity = baseline on the same split)",
            metrics=COMPACT_METRICS,
        )
    )

    artifact = load_artifact(models_dir / "als")
    catalog = artifact.catalog
    users = artifact.user_map.ids[:2]
    ids, scores = artifact.model.recommend(artifact.user_map.index(users), k=5)  # unseen only
    for user, row, score_row in zip(users, ids, scores, strict=True):
        table = Table(title=f"top 5 for user {user} (als {artifact.version})")
        for col in ("rank", "item_id", "name", "brand", "category", "score"):
            table.add_column(col, justify="right" if col in ("rank", "score") else "left")
        for rank, (index, score) in enumerate(zip(row, score_row, strict=True), start=1):
            if index < 0:
                continue
            table.add_row(
                str(rank),
                str(catalog["item_id"].iat[index]),
                str(catalog["name"].iat[index]) if "name" in catalog else "",
                str(catalog["brand"].iat[index]) if "brand" in catalog else "",
                str(catalog["category"].iat[index]) if "category" in catalog else "",
                f"{float(score):.4f}",
            )
        console.print(table)
    history = artifact.seen[artifact.user_map.index_of(str(users[0]))].indices
    if "category" in catalog:
        bought = catalog["category"].to_numpy()[history]
        top = np.unique(bought, return_counts=True)
        order = np.argsort(-top[1])[:3]
        console.print(
            f"user {users[0]}'s history is mostly: "
            + ", ".join(f"{top[0][i]} ({top[1][i]})" for i in order)
        )
    from nextbuy.reporting import write_report

    for key, result in results.items():  # one HTML evaluation report per model
        console.print(
            f"report: {write_report(result.version_dir, models_dir / key / 'report.html')}"
        )
    console.print(
        f"models saved under {models_dir}/ (als, mf); demo took "
        f"{time.perf_counter() - started:.1f} s. Next: make serve"
    )
    return results
