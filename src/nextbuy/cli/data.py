"""``nextbuy data generate|describe|split|fetch``: make, inspect, split and download data."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nextbuy.cli.options import Columns, PositiveThreshold, with_columns
from nextbuy.cli.output import console, err_console, print_fields

app = typer.Typer(help="Generate, describe and fetch datasets.", no_args_is_help=True)


@app.command("generate")
def data_generate(
    out: Annotated[Path, typer.Option(help="Folder to write interactions/ratings/items CSVs.")],
    users: Annotated[int, typer.Option(min=1, help="Number of users.")] = 2000,
    items: Annotated[int, typer.Option(min=1, help="Number of items.")] = 500,
    interactions: Annotated[int, typer.Option(min=1, help="Number of interactions.")] = 100000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same shop).")] = 42,
    sequential: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of interactions that continue the previous one along a category "
            "journey (0 = static tastes only; 0.5 gives order something to predict).",
        ),
    ] = 0.0,
) -> None:
    """Generate the synthetic shop: interactions.csv, ratings.csv and items.csv."""
    from nextbuy.data.synthetic import generate_shop, write_shop

    started = time.perf_counter()
    with err_console.status("generating the shop"):
        shop = generate_shop(
            n_users=users,
            n_items=items,
            n_interactions=interactions,
            seed=seed,
            sequential=sequential,
        )
        paths = write_shop(shop, out)
    took = time.perf_counter() - started
    table = Table(title=f"synthetic shop in {out} ({took:.1f} s)")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for key, path in paths.items():
        frame = getattr(shop, key, None)
        table.add_row(str(path), f"{len(frame):,}" if frame is not None else "")
    console.print(table)


@app.command("describe")
@with_columns
def data_describe(
    file: Annotated[Path, typer.Argument(help="Interaction file or MovieLens folder.")],
    columns: Columns = Columns(),
    positive_threshold: PositiveThreshold = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Counts, density, popularity concentration and time range of an interaction file.

    The first line says whether the values were read as explicit ratings or implicit
    feedback, and why.
    """
    from nextbuy.data.describe import describe

    dataset = columns.read(file)
    stats = describe(dataset, positive_threshold)
    if as_json:
        console.print_json(json.dumps(stats, default=str))
        return
    console.print(f"data: {stats.pop('feedback')}", highlight=False)
    print_fields(_flatten(stats), f"{file}", key_header="statistic")


@app.command("split")
@with_columns
def data_split(
    file: Annotated[Path, typer.Argument(help="Interaction file or MovieLens folder.")],
    out: Annotated[Path, typer.Option(help="Folder for train.csv and test.csv.")],
    method: Annotated[
        str,
        typer.Option(
            help="time (global cutoff), user (a share of each user's rows), random, or last "
            "(each user's latest row)."
        ),
    ] = "time",
    test_fraction: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of rows held out (not for last).")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the random and per-user splits.")] = 42,
    columns: Columns = Columns(),
) -> None:
    """Split an interaction file into OUT/train.csv and OUT/test.csv for train and evaluate.

    Both files hold one row per user-item pair in NextBuy's own columns (user_id, item_id,
    rating or value, timestamp), so ``nextbuy train --data OUT/train.csv`` and ``nextbuy
    evaluate --test OUT/test.csv`` read them without column options.
    """
    from nextbuy.data.split import split, split_frames, summary

    dataset = columns.read(file)
    inter = dataset.to_interactions()
    train, test = split(inter, method, test_fraction=test_fraction, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = split_frames(train, test, out)
    console.print(f"data: {dataset.feedback}", highlight=False)
    console.print(summary(inter, train, test, method, test_fraction, seed), highlight=False)
    console.print(f"wrote {paths[0]} and {paths[1]}", highlight=False)


def _flatten(stats: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested statistics as one level of dotted keys (``popularity.gini``)."""
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@app.command("fetch")
def data_fetch(
    name: Annotated[
        str,
        typer.Argument(
            help="movielens-100k, movielens-1m, movielens-latest-small or movielens-20m."
        ),
    ],
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache folder (default ~/.cache/nextbuy).")
    ] = None,
) -> None:
    """Download an official GroupLens MovieLens zip, verify its checksum and unpack it."""
    from nextbuy.data.fetch import fetch_movielens

    path = fetch_movielens(name, cache_dir)
    console.print(f"{name}: {path}")
