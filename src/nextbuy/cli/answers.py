"""``nextbuy recommend``, ``similar``, ``batch`` and ``predict``: the HTTP API's answers, offline.

Every command asks :mod:`nextbuy.cli.service` (the API's own service), so ``--json`` prints
exactly the body the matching route returns, and a table shows the same items.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nextbuy.cli.options import AsJson, K, ModelDir
from nextbuy.cli.output import console, err_console, print_fields, print_items, write_json
from nextbuy.spark.cli import CheckpointDir, Engine, SparkConf, SparkMaster, run_batch

if TYPE_CHECKING:
    import pandas as pd

    from nextbuy.cli.service import BatchArrays, Served

app = typer.Typer()

#: Users asked in one ``recommend_batch`` call: bounds the answers held at once.
BATCH_USERS = 10_000
#: Columns of ``nextbuy batch`` files, one row per recommended item.
BATCH_COLUMNS = ["user_id", "rank", "item_id", "score", "strategy"]
#: Columns of ``nextbuy predict --pairs`` files, one row per input pair.
PREDICT_COLUMNS = ["user_id", "item_id", "prediction", "strategy"]


@app.command()
def recommend(
    model_dir: ModelDir,
    user: Annotated[str, typer.Option(help="User ID (as in the data; IDs are strings).")],
    k: K = 10,
    as_json: AsJson = False,
) -> None:
    """Top-k items for one user, seen items excluded; unknown users get popular items."""
    from nextbuy.cli.service import open_service

    served = open_service(model_dir)
    answer = served.recommend(user, k)
    about = f"{answer['strategy']}, {served.name} {answer['model_version']}"
    _show(answer, "recommendations", as_json, f"top {k} for user {user!r} ({about})")


@app.command()
def similar(
    model_dir: ModelDir,
    item: Annotated[str, typer.Option(help="Item ID.")],
    k: K = 10,
    include_out_of_stock: Annotated[
        bool, typer.Option(help="Also list items out of stock (left out by default).")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Items most similar to one item; hidden and out-of-stock items are left out."""
    from nextbuy.cli.service import open_service

    answer = open_service(model_dir).similar(item, k, include_out_of_stock)
    _show(answer, "items", as_json, f"items similar to {item!r}")


def _show(answer: dict[str, Any], key: str, as_json: bool, title: str) -> None:
    """The whole answer as JSON, or its item list ``answer[key]`` as a table."""
    if as_json:
        write_json(answer)
    else:
        print_items(answer[key], title)


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
    """Top-k for every user (or those listed): user_id,rank,item_id,score,strategy.

    With ``--engine spark`` the scoring runs in Spark and OUT is a folder of Parquet parts.
    """
    if engine != "local":
        return run_batch(
            engine, spark_master, spark_conf, checkpoint_dir,
            model_dir=model_dir, out=out, users=users, k=k,
        )  # fmt: skip
    from nextbuy.cli.service import open_service
    from nextbuy.tables import read_id_list, write_frame

    served = open_service(model_dir)
    user_ids = served.user_ids() if users is None else read_id_list(users, "user_id")
    started = time.perf_counter()
    with err_console.status(f"recommending for {len(user_ids):,} users"):
        frame, n_fallback = _batch_frame(served, user_ids, k)
    write_frame(frame, out)
    console.print(
        f"wrote {len(frame):,} rows for {len(user_ids):,} users to {out} in "
        f"{time.perf_counter() - started:.2f} s"
        + (f" ({n_fallback:,} unknown users got popular items)" if n_fallback else "")
    )


def _batch_frame(served: Served, user_ids: list[str], k: int) -> tuple[pd.DataFrame, int]:
    """One row per recommended item of every user (the batch route's answers), and how many
    users got the fallback. The next chunk is scored (every core) while this one's rows are
    built, so the single-threaded frame work does not leave the cores idle."""
    from concurrent.futures import Future, ThreadPoolExecutor

    import pandas as pd

    frames: list[pd.DataFrame] = []
    n_fallback = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nextbuy-batch") as ahead:

        def asked(start: int) -> Future[tuple[Any, BatchArrays]] | None:
            if start >= len(user_ids):
                return None
            chunk = user_ids[start : start + BATCH_USERS]
            return ahead.submit(served.recommend_batch_arrays, chunk, k)

        pending = asked(0)
        for start in range(0, len(user_ids), BATCH_USERS):
            assert pending is not None
            item_ids, found = pending.result()
            pending = asked(start + BATCH_USERS)
            n_fallback += int((~found.personal).sum())
            frames.append(_batch_rows(user_ids[start : start + BATCH_USERS], item_ids, found))
    if not frames:
        empty = pd.DataFrame({c: [] for c in BATCH_COLUMNS}, columns=BATCH_COLUMNS)
        return empty.astype({"rank": "int32", "score": "float64"}), 0
    return pd.concat(frames, ignore_index=True), n_fallback


def _batch_rows(chunk: list[str], item_ids: Any, found: BatchArrays) -> pd.DataFrame:
    """The rows of one chunk's answer arrays (``rank`` int32, ``score`` float64 already)."""
    import numpy as np
    import pandas as pd

    valid = found.ids >= 0
    per_user = valid.sum(axis=1)
    strategy = np.array(["fallback", "personalized"], dtype=object)[found.personal.astype(np.intp)]
    return pd.DataFrame(
        {
            "user_id": np.repeat(np.asarray(chunk, dtype=object), per_user),
            "rank": np.cumsum(valid, axis=1, dtype=np.int32)[valid],
            "item_id": item_ids[found.ids[valid]],
            "score": np.round(found.scores[valid].astype(np.float64), 6),
            "strategy": np.repeat(strategy, per_user),
        },
        columns=BATCH_COLUMNS,
    )


@app.command()
def predict(
    model_dir: ModelDir,
    pairs: Annotated[
        Path | None, typer.Option(help="File with user_id,item_id columns (with --out).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output file, .csv or .parquet.")] = None,
    user: Annotated[str | None, typer.Option(help="One user ID (with --item, no file).")] = None,
    item: Annotated[str | None, typer.Option(help="One item ID (with --user).")] = None,
    as_json: AsJson = False,
) -> None:
    """One prediction per (user_id, item_id) row: a rating for explicit models, else a score.

    With --user and --item: one pair, printed as POST /predict/rating answers it. An item the
    model does not know is an error (exit 2), as it is a 404 over HTTP; in a --pairs file
    such a row gets an empty prediction and the strategy unknown_item instead.
    """
    from nextbuy.cli.service import open_service

    if (pairs is None) == (user is None and item is None):
        raise typer.BadParameter(
            "give either --pairs FILE --out FILE or --user and --item", param_hint="--pairs"
        )
    if pairs is not None:
        if out is None:
            raise typer.BadParameter("--pairs needs --out (.csv or .parquet)", param_hint="--out")
        _predict_file(open_service(model_dir), pairs, out)
        return
    if user is None or item is None:
        raise typer.BadParameter("--user and --item go together", param_hint="--user")
    served = open_service(model_dir)
    answer = served.predict(user, item)
    if as_json:
        write_json(answer)
    else:
        print_fields(answer, f"prediction ({served.name} {answer['model_version']})")


def _predict_file(served: Served, pairs: Path, out: Path) -> None:
    """Predict every (user_id, item_id) row of ``pairs`` into ``out``, with its strategy.

    A row whose item the model does not know gets an empty prediction and the strategy
    ``unknown_item`` (one such row does not abort the file); unknown users get ``fallback``.
    """
    from nextbuy.cli.service import UNKNOWN_ITEM
    from nextbuy.tables import read_pairs, write_frame

    frame = read_pairs(pairs)
    answers = [
        served.predict_row(u, i) for u, i in zip(frame["user_id"], frame["item_id"], strict=True)
    ]
    frame["prediction"] = _floats([answer["prediction"] for answer in answers])
    frame["strategy"] = [answer["strategy"] for answer in answers]
    write_frame(frame[PREDICT_COLUMNS], out)
    counts = frame["strategy"].value_counts()
    n_fallback, n_unknown = int(counts.get("fallback", 0)), int(counts.get(UNKNOWN_ITEM, 0))
    notes = [f"{n_fallback:,} fallbacks: users the model cannot score"] if n_fallback else []
    if n_unknown:
        notes.append(f"{n_unknown:,} {UNKNOWN_ITEM}: items it does not know, left empty")
    console.print(
        f"wrote {len(frame):,} predictions to {out}" + (f" ({'; '.join(notes)})" if notes else "")
    )


def _floats(values: list[float | None]) -> Any:
    """Predictions as a float column, NaN (an empty CSV cell) where there is none."""
    import numpy as np

    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
