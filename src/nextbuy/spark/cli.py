"""The Spark side of ``nextbuy train`` and ``nextbuy batch``: options and one call each.

``nextbuy.cli`` declares these options with the aliases below and hands over to
:func:`run_train` / :func:`run_batch` when ``--engine spark`` is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from nextbuy.errors import ConfigError

Engine = Annotated[
    str, typer.Option(help="local (in-process) or spark (pip install 'nextbuy\\[spark]').")
]
SparkMaster = Annotated[
    str, typer.Option(help="Spark master: local[*], local[N], spark://host:7077, yarn, k8s://...")
]
SparkConf = Annotated[
    list[str] | None,
    typer.Option(help="Spark setting key=value, repeatable (spark.driver.memory=8g, ...)."),
]
CheckpointDir = Annotated[
    str | None,
    typer.Option(help="Spark checkpoint directory (HDFS/S3 on a cluster); needed for long runs."),
]

_console = Console(width=max(Console().width, 120))


def _options(engine: str, master: str, conf: list[str] | None, checkpoint_dir: str | None) -> Any:
    from nextbuy.spark.session import SparkOptions, parse_conf

    if engine != "spark":
        raise typer.BadParameter(f"{engine!r}: expected local or spark", param_hint="--engine")
    return SparkOptions(master=master, conf=parse_conf(conf), checkpoint_dir=checkpoint_dir)


def run_train(
    engine: str,
    master: str,
    conf: list[str] | None,
    checkpoint_dir: str | None,
    *,
    data: Path | None,
    out: Path,
    config: Any,
    model: str | None,
    overrides: list[str] | None,
    name: str | None,
    items: Path | None,
    split: str | None,
    test_fraction: float | None,
    test: Path | None,
    database_url: str | None,
) -> None:
    """``nextbuy train --engine spark``: train in Spark, print the evaluation, save."""
    from nextbuy.config import parse_overrides
    from nextbuy.demo import COMPACT_METRICS
    from nextbuy.evaluation.report import results_table
    from nextbuy.spark.train import train_spark

    options = _options(engine, master, conf, checkpoint_dir)
    if data is None:
        raise ConfigError("--engine spark needs --data (a file, or a folder of Parquet parts)")
    if test is not None or database_url is not None:
        raise ConfigError(
            "--engine spark splits --data itself; --test and --database-url are local only"
        )
    update = {"method": split, "test_fraction": test_fraction}
    update = {key: value for key, value in update.items() if value is not None}
    config = config.model_copy(update={"split": config.split.model_copy(update=update)})
    result = train_spark(
        data, out, options, config, model=model, params=parse_overrides(overrides or []),
        name=name, items=items,
    )  # fmt: skip
    if result.evaluations:
        _console.print(
            results_table(
                result.evaluations, title="held-out evaluation (Spark)", metrics=COMPACT_METRICS
            )
        )
    _console.print(
        f"trained {result.model.name} with Spark on {result.n_train:,} interactions "
        f"({result.fit_seconds:.2f} s fit, {result.timings.get('total_s', 0.0):.1f} s in all); "
        f"saved [bold]{result.version_dir}[/bold]"
    )


def run_batch(
    engine: str,
    master: str,
    conf: list[str] | None,
    checkpoint_dir: str | None,
    *,
    model_dir: Path,
    out: Path,
    users: Path | None,
    k: int,
) -> None:
    """``nextbuy batch --engine spark``: top-k for every user, a folder of Parquet parts."""
    from nextbuy.spark.batch import batch_spark

    options = _options(engine, master, conf, checkpoint_dir)
    result = batch_spark(model_dir, out, options, k=k, users_file=users)
    _console.print(
        f"wrote {result.n_rows:,} rows for {result.n_users:,} users to {result.out}/ "
        f"(Parquet parts) in {result.seconds:.2f} s"
        + (f" ({result.n_unknown:,} unknown users got popular items)" if result.n_unknown else "")
    )
