"""The ``nextbuy`` command line: data, train, evaluate, recommend, batch, predict, serve."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nextbuy.errors import NextBuyError
from nextbuy.spark.cli import CheckpointDir, Engine, SparkConf, SparkMaster, run_batch, run_train

app = typer.Typer(
    help="NextBuy: product recommendations from interaction exports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Generate, describe and fetch datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")

console = Console(width=max(Console().width, 120))
err_console = Console(stderr=True)

# ---------------------------------------------------------------- shared options
ModelDir = Annotated[
    Path, typer.Option("--model-dir", help="MODELS_DIR/NAME (follows LATEST) or a version folder.")
]
K = Annotated[int, typer.Option("-k", "--k", min=1, max=10000, help="How many items to return.")]
Format = Annotated[
    str | None,
    typer.Option(help="Input format: csv, tsv, parquet, jsonl, movielens, retail (default: ext)."),
]
UserCol = Annotated[str, typer.Option(help="Column holding user IDs.")]
ItemCol = Annotated[str, typer.Option(help="Column holding item IDs.")]
ValueCol = Annotated[
    str | None,
    typer.Option(help="Column holding the value; 'rating' (or a rating column) means explicit."),
]
TimeCol = Annotated[str | None, typer.Option(help="Column holding timestamps.")]
EventCol = Annotated[str | None, typer.Option(help="Column holding event types (view, ...).")]


def _config_with_columns(
    config: Path | None,
    fmt: str | None,
    user_col: str,
    item_col: str,
    value_col: str | None,
    time_col: str | None,
    event_col: str | None,
) -> Any:
    """The YAML config (or the default) with the column options the user actually set."""
    from nextbuy.config import load_config

    cfg = load_config(config)
    update: dict[str, Any] = {"user_col": user_col, "item_col": item_col}
    for key, value in (
        ("format", fmt),
        ("value_col", value_col),
        ("time_col", time_col),
        ("event_col", event_col),
    ):
        if value is not None:
            update[key] = value
    return cfg.model_copy(update={"data": cfg.data.model_copy(update=update)})


def _catalog_row(artifact: Any, index: int) -> dict[str, Any]:
    """Catalog fields (name, brand, category, price) of one item, empty when unknown."""
    catalog = artifact.catalog
    row: dict[str, Any] = {}
    for col in ("name", "brand", "category", "price"):
        if col in catalog.columns:
            value = catalog[col].iat[index]
            row[col] = (
                None
                if value is None or (isinstance(value, float) and value != value)
                else (value.item() if hasattr(value, "item") else value)
            )
    return row


def _load(model_dir: Path) -> Any:
    from nextbuy.artifacts import load_artifact

    return load_artifact(model_dir)


# ---------------------------------------------------------------- data
@data_app.command("generate")
def data_generate(
    out: Annotated[Path, typer.Option(help="Folder to write interactions/ratings/items CSVs.")],
    users: Annotated[int, typer.Option(min=1, help="Number of users.")] = 2000,
    items: Annotated[int, typer.Option(min=1, help="Number of items.")] = 500,
    interactions: Annotated[int, typer.Option(min=1, help="Number of interactions.")] = 100000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same shop).")] = 42,
) -> None:
    """Generate the synthetic shop: interactions.csv, ratings.csv and items.csv."""
    from nextbuy.data.synthetic import generate_shop, write_shop

    started = time.perf_counter()
    with err_console.status("generating the shop"):
        shop = generate_shop(n_users=users, n_items=items, n_interactions=interactions, seed=seed)
        paths = write_shop(shop, out)
    took = time.perf_counter() - started
    table = Table(title=f"synthetic shop in {out} ({took:.1f} s)")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for key, path in paths.items():
        frame = getattr(shop, key, None)
        table.add_row(str(path), f"{len(frame):,}" if frame is not None else "")
    console.print(table)


@data_app.command("describe")
def data_describe(
    file: Annotated[Path, typer.Argument(help="Interaction file or MovieLens folder.")],
    fmt: Format = None,
    user_col: UserCol = "user_id",
    item_col: ItemCol = "item_id",
    value_col: ValueCol = None,
    time_col: TimeCol = None,
    event_col: EventCol = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Counts, density, popularity concentration and time range of an interaction file."""
    from nextbuy.data.describe import describe
    from nextbuy.data.sources import ColumnMap, read_interactions

    dataset = read_interactions(
        file, ColumnMap(user_col, item_col, value_col, time_col, event_col), format=fmt
    )
    stats = describe(dataset)
    if as_json:
        console.print_json(json.dumps(stats, default=str))
        return
    table = Table(title=f"{file}")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    for key, value in _flatten(stats).items():
        table.add_row(key, _display(value))
    console.print(table)


def _display(value: Any) -> str:
    """A statistic as a table cell: thousands separators, 4 significant digits, '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


def _flatten(stats: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@data_app.command("fetch")
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


# ---------------------------------------------------------------- train / evaluate
@app.command()
def train(
    out: Annotated[Path, typer.Option(help="Models folder; the model goes to OUT/NAME/VERSION.")],
    data: Annotated[
        Path | None, typer.Option(help="Interaction file (csv, tsv, parquet, jsonl) or folder.")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="Also train on the events stored here (sqlite:///f.db, postgresql://)."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="popularity, itemknn, ease, userease, rp3beta, als, ials, bpr, mf, bpmf, blend."
        ),
    ] = None,
    items: Annotated[
        Path | None, typer.Option(help="Catalog file (item_id,name,brand,...).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Hyper-parameter override key=value.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="YAML config (see config/default.yaml).")
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Hold-out: random, user, time, last or none.")
    ] = None,
    test_fraction: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    test: Annotated[Path | None, typer.Option(help="Bring-your-own test file.")] = None,
    name: Annotated[str | None, typer.Option(help="Model name (default: the model type).")] = None,
    fmt: Format = None,
    user_col: UserCol = "user_id",
    item_col: ItemCol = "item_id",
    value_col: ValueCol = None,
    time_col: TimeCol = None,
    event_col: EventCol = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    engine: Engine = "local",
    spark_master: SparkMaster = "local[*]",
    spark_conf: SparkConf = None,
    checkpoint_dir: CheckpointDir = None,
) -> None:
    """Train a model, evaluate it against popularity on a held-out split, and save it."""
    from nextbuy.config import parse_overrides
    from nextbuy.evaluation.report import results_table
    from nextbuy.training import train_model

    cfg = _config_with_columns(config, fmt, user_col, item_col, value_col, time_col, event_col)
    if split is not None and split not in ("random", "user", "time", "last", "none"):
        raise typer.BadParameter(
            f"{split!r}: expected random, user, time, last or none", param_hint="--split"
        )
    if engine != "local":  # --engine spark: nextbuy.spark trains, evaluates and saves
        return run_train(engine, spark_master, spark_conf, checkpoint_dir, data=data, out=out,
                         config=cfg, model=model, overrides=set_, name=name, items=items,
                         split=split, test_fraction=test_fraction, test=test,
                         database_url=database_url)  # fmt: skip
    result = train_model(
        data,
        model=model,
        params=parse_overrides(set_ or []),
        out=out,
        name=name,
        items=items,
        split=split,
        test_fraction=test_fraction,
        test=test,
        config=cfg,
        show_progress=not quiet,
        database_url=database_url,
    )
    if result.evaluations:
        from nextbuy.demo import COMPACT_METRICS

        console.print(
            results_table(result.evaluations, title="held-out evaluation", metrics=COMPACT_METRICS)
        )
    console.print(
        f"trained {result.model.name} on {result.n_train:,} interactions "
        f"({result.fit_seconds:.2f} s); saved [bold]{result.version_dir}[/bold]"
    )


@app.command()
def evaluate(
    model_dir: ModelDir,
    test: Annotated[Path, typer.Option(help="Held-out interactions to score against.")],
    k: K = 10,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write JSON here.")] = None,
    baseline: Annotated[
        str, typer.Option(help="Baseline model fitted on the same data.")
    ] = "popularity",
    fmt: Format = None,
    user_col: UserCol = "user_id",
    item_col: ItemCol = "item_id",
    value_col: ValueCol = None,
    time_col: TimeCol = None,
    event_col: EventCol = None,
) -> None:
    """Evaluate a saved model on a test file, next to a baseline trained on the same data."""
    from nextbuy.data.interactions import Interactions
    from nextbuy.data.sources import ColumnMap, read_interactions
    from nextbuy.evaluation import evaluate as run_evaluation
    from nextbuy.evaluation.report import results_json, results_table
    from nextbuy.models import registry

    artifact = _load(model_dir)
    explicit = bool(artifact.manifest.get("explicit", artifact.model.predicts_ratings))
    dataset = read_interactions(
        test, ColumnMap(user_col, item_col, value_col, time_col, event_col), format=fmt
    )
    train_inter = Interactions.from_csr(
        artifact.seen, user_map=artifact.user_map, item_map=artifact.item_map, explicit=explicit
    )
    test_inter = Interactions.from_frame(
        dataset.frame,
        explicit=dataset.explicit,
        user_map=artifact.user_map,
        item_map=artifact.item_map,
        unknown="drop",
        source=dataset.source,
    )
    dropped = len(dataset.frame) - len(test_inter)
    results = [run_evaluation(artifact.model, train_inter, test_inter, k=k)]
    if baseline and baseline != artifact.model.name:
        base = registry.create(baseline).fit(train_inter)
        results.append(run_evaluation(base, train_inter, test_inter, k=k))
    console.print(results_table(results, title=f"{artifact.name} {artifact.version} on {test}"))
    if dropped:
        err_console.print(f"note: {dropped:,} test rows name users or items the model never saw")
    if json_out is not None:
        json_out.write_text(json.dumps(results_json(results), indent=2))


@app.command()
def tune(
    data: Annotated[Path, typer.Option(help="Training interactions (the test split stays out).")],
    model: Annotated[str, typer.Option(help="Model whose declared search space to explore.")],
    trials: Annotated[int, typer.Option(min=1, help="Number of trials.")] = 20,
    metric: Annotated[str, typer.Option(help="ndcg@10, recall@10, map@10 or rmse.")] = "ndcg@10",
    timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    out: Annotated[Path, typer.Option(help="Where to write the best config (YAML).")] = Path(
        "config/tuned.yaml"
    ),
    plot: Annotated[Path | None, typer.Option(help="PNG of metric by trial.")] = None,
    config: Annotated[Path | None, typer.Option(help="Base YAML config.")] = None,
    seed: Annotated[int, typer.Option(help="Sampler and validation-split seed.")] = 42,
    fmt: Format = None,
    user_col: UserCol = "user_id",
    item_col: ItemCol = "item_id",
    value_col: ValueCol = None,
    time_col: TimeCol = None,
    event_col: EventCol = None,
) -> None:
    """Tune hyper-parameters with Optuna on a validation slice of DATA; write the best config."""
    from nextbuy.data.interactions import Interactions
    from nextbuy.training import load_dataset
    from nextbuy.tuning import plot_trials, write_config
    from nextbuy.tuning import tune as run_tune

    cfg = _config_with_columns(config, fmt, user_col, item_col, value_col, time_col, event_col)
    frame, explicit, _, source = load_dataset(data, cfg)
    train_inter = Interactions.from_frame(frame, explicit=explicit, source=source)
    base = {**cfg.models.get(model, {})}
    table = Table(title=f"tuning {model} on {source}: {metric} on validation")
    for col in ("trial", metric, "seconds", "params"):
        table.add_column(col, justify="left" if col == "params" else "right")

    def show(record: dict[str, Any]) -> None:
        changed = {k: v for k, v in record["params"].items() if base.get(k) != v}
        err_console.print(
            f"trial {record['trial']:>3}  {metric}={record['value']:.5f}  "
            f"{record['seconds']:.1f}s  {changed}",
            highlight=False,
        )

    result = run_tune(
        train_inter,
        model,
        trials=trials,
        metric=metric,
        timeout=timeout,
        seed=seed,
        base_params=base,
        on_trial=show,
    )
    for rec in result.trials:
        changed = {k: v for k, v in rec["params"].items() if base.get(k) != v}
        table.add_row(
            str(rec["trial"]),
            f"{rec['value']:.5f}",
            f"{rec['seconds']:.1f}",
            json.dumps(changed, default=str),
        )
    console.print(table)
    path = write_config(result, out, cfg)
    png = plot_trials(result, plot or out.with_suffix(".png"))
    console.print(
        f"best {metric} = {result.best_value:.5f}; config written to [bold]{path}[/bold] "
        f"(use: nextbuy train --config {path}); plot: {png}"
    )


# ---------------------------------------------------------------- inference
def _recommend_rows(artifact: Any, user_ids: list[str], k: int) -> tuple[Any, Any, Any]:
    """Top-k item indices and scores for user IDs (unknown users get the fallback row)."""
    import numpy as np

    users = artifact.user_map.index(np.asarray(user_ids, dtype=object))
    ids, scores = artifact.model.recommend(users, k=k, exclude=artifact.seen)
    return users, ids, scores


@app.command()
def recommend(
    model_dir: ModelDir,
    user: Annotated[str, typer.Option(help="User ID (as in the data; IDs are strings).")],
    k: K = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Top-k items for one user, seen items excluded; unknown users get popular items."""
    artifact = _load(model_dir)
    users, ids, scores = _recommend_rows(artifact, [user], k)
    strategy = "personalized" if users[0] >= 0 else "fallback"
    items = _items_payload(artifact, ids[0], scores[0])
    if as_json:
        payload = {
            "user_id": user,
            "model_version": artifact.version,
            "strategy": strategy,
            "recommendations": items,
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    _print_items(
        items, f"top {k} for user {user!r} ({strategy}, {artifact.name} {artifact.version})"
    )


@app.command()
def similar(
    model_dir: ModelDir,
    item: Annotated[str, typer.Option(help="Item ID.")],
    k: K = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Items most similar to one item."""
    from nextbuy.errors import NextBuyError as _Err

    artifact = _load(model_dir)
    index = artifact.item_map.index_of(item)
    if index < 0:
        raise _Err(f"unknown item {item!r}: the model was not trained on it")
    ids, scores = artifact.model.similar_items([index], k=k)
    items = _items_payload(artifact, ids[0], scores[0])
    if as_json:
        sys.stdout.write(json.dumps({"item_id": item, "similar": items}) + "\n")
        return
    _print_items(items, f"items similar to {item!r}")


def _items_payload(artifact: Any, ids: Any, scores: Any) -> list[dict[str, Any]]:
    valid = ids >= 0
    item_ids = artifact.item_map.to_ids(ids[valid])
    return [
        {
            "item_id": str(item_id),
            "rank": rank + 1,
            "score": round(float(score), 6),
            **_catalog_row(artifact, int(index)),
        }
        for rank, (item_id, index, score) in enumerate(
            zip(item_ids, ids[valid], scores[valid], strict=False)
        )
    ]


def _print_items(items: list[dict[str, Any]], title: str) -> None:
    table = Table(title=title)
    for col in ("rank", "item_id", "name", "brand", "score"):
        table.add_column(col, justify="right" if col in ("rank", "score") else "left")
    for row in items:
        table.add_row(
            str(row["rank"]),
            row["item_id"],
            str(row.get("name") or ""),
            str(row.get("brand") or ""),
            f"{row['score']:.4f}",
        )
    console.print(table)


@app.command()
def batch(
    model_dir: ModelDir,
    out: Annotated[Path, typer.Option(help="Output file, .csv or .parquet.")],
    users: Annotated[
        Path | None, typer.Option(help="File of user IDs (column user_id, or one per line).")
    ] = None,
    k: K = 10,
    engine: Engine = "local",
    spark_master: SparkMaster = "local[*]",
    spark_conf: SparkConf = None,
    checkpoint_dir: CheckpointDir = None,
) -> None:
    """Top-k for every user (or those listed): user_id,rank,item_id,score."""
    if engine != "local":  # --engine spark: a folder of Parquet parts written by Spark
        return run_batch(engine, spark_master, spark_conf, checkpoint_dir,
                         model_dir=model_dir, out=out, users=users, k=k)  # fmt: skip
    import numpy as np
    import pandas as pd

    from nextbuy.tables import read_id_list, write_frame

    artifact = _load(model_dir)
    user_ids = artifact.user_map.ids if users is None else read_id_list(users, "user_id")
    started = time.perf_counter()
    with err_console.status(f"recommending for {len(user_ids):,} users"):
        index, ids, scores = _recommend_rows(artifact, list(user_ids), k)
    n = len(user_ids)
    valid = ids >= 0
    frame = pd.DataFrame(
        {
            "user_id": np.repeat(np.asarray(user_ids, dtype=object), k)[valid.ravel()],
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), n)[valid.ravel()],
            "item_id": artifact.item_map.to_ids(ids[valid]),
            "score": scores[valid],
        }
    )
    write_frame(frame, out)
    unknown = int((index < 0).sum())
    console.print(
        f"wrote {len(frame):,} rows for {n:,} users to {out} in "
        f"{time.perf_counter() - started:.2f} s"
        + (f" ({unknown:,} unknown users got popular items)" if unknown else "")
    )


@app.command()
def predict(
    model_dir: ModelDir,
    pairs: Annotated[Path, typer.Option(help="File with user_id,item_id columns.")],
    out: Annotated[Path, typer.Option(help="Output file, .csv or .parquet.")],
) -> None:
    """One prediction per (user_id, item_id) row: a rating for explicit models, else a score."""
    from nextbuy.tables import read_pairs, write_frame

    artifact = _load(model_dir)
    frame = read_pairs(pairs)
    users = artifact.user_map.index(frame["user_id"])
    items = artifact.item_map.index(frame["item_id"])
    frame["prediction"] = artifact.model.predict(users, items)
    write_frame(frame[["user_id", "item_id", "prediction"]], out)
    unknown = int(((users < 0) | (items < 0)).sum())
    console.print(
        f"wrote {len(frame):,} predictions to {out}"
        + (f" ({unknown:,} rows name unknown users or items)" if unknown else "")
    )


# ---------------------------------------------------------------- demo
@app.command()
def demo(
    data: Annotated[Path, typer.Option(help="Where to write the sample shop.")] = Path("data/shop"),
    models: Annotated[Path, typer.Option(help="Models folder.")] = Path("models"),
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """The whole journey on the sample shop: generate, train ALS + MF, evaluate, recommend."""
    from nextbuy.demo import run_demo

    run_demo(data, models, show_progress=not quiet)


# ---------------------------------------------------------------- serve
@app.command()
def serve(
    model_dir: ModelDir,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="NEXTBUY_DATABASE_URL",
            help="Event store for /events and catalog changes: postgresql+psycopg://user@host/db,"
            " sqlite:///path.db or a file path (default MODELS_DIR/events.db).",
        ),
    ] = None,
    online: Annotated[
        bool | None,
        typer.Option(
            "--online/--read-only",
            help="Record events and catalog changes (default), or serve the model alone.",
        ),
    ] = None,
    max_per_brand: Annotated[
        int | None, typer.Option(min=1, help="At most N items per brand in one list.")
    ] = None,
    repurchasable_category: Annotated[
        list[str] | None,
        typer.Option(help="Category customers buy again and again (repeatable)."),
    ] = None,
) -> None:
    """Serve the model over HTTP (FastAPI); docs at /docs. Settings: NEXTBUY_* variables."""
    from nextbuy.serving import run

    run(
        model_dir=model_dir,
        host=host,
        port=port,
        workers=workers,
        database_url=database_url,
        online=online,
        max_per_brand=max_per_brand,
        repurchasable_categories=repurchasable_category or None,
    )


def main() -> None:
    """Console entry point: user mistakes end with one line and exit code 2."""
    try:
        app()
    except NextBuyError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except FileNotFoundError as exc:
        err_console.print(f"[red]error:[/red] {exc.filename}: no such file", soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
