"""Spark MLlib ALS with NextBuy's parameter names, and ``nextbuy train --engine spark``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.spark.session import (
    SparkOptions,
    checkpoint_warning,
    get_session,
    in_process_options,
)

if TYPE_CHECKING:
    from pyspark.ml.recommendation import ALSModel
    from pyspark.sql import DataFrame

    from nextbuy.config import Config

#: NextBuy hyper-parameter -> ``pyspark.ml.recommendation.ALS`` parameter.
PARAM_MAP = {
    "factors": "rank",
    "regularization": "regParam",
    "alpha": "alpha",
    "iterations": "maxIter",
    "random_state": "seed",
    "num_user_blocks": "numUserBlocks",
    "num_item_blocks": "numItemBlocks",
    "checkpoint_interval": "checkpointInterval",
    "intermediate_storage_level": "intermediateStorageLevel",
    "final_storage_level": "finalStorageLevel",
}
#: The models ``--engine spark`` trains: implicit feedback, and ratings.
SPARK_MODELS = ("spark_als", "spark_als_explicit")


def als_estimator(params: dict[str, Any], explicit: bool) -> Any:
    """A configured ``pyspark.ml.recommendation.ALS`` on columns ``user, item, rating``."""
    from pyspark.ml.recommendation import ALS

    kwargs = {spark: params[ours] for ours, spark in PARAM_MAP.items() if ours in params}
    if explicit:
        kwargs.pop("alpha", None)
    for key in ("rank", "maxIter", "numUserBlocks", "numItemBlocks", "checkpointInterval", "seed"):
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    for key in ("regParam", "alpha"):
        if key in kwargs:
            kwargs[key] = float(kwargs[key])
    return ALS(
        userCol="user",
        itemCol="item",
        ratingCol="rating",
        implicitPrefs=not explicit,
        coldStartStrategy="nan",
        nonnegative=False,
        **kwargs,
    )


def fit_als(pairs: DataFrame, params: dict[str, Any], explicit: bool) -> ALSModel:
    """Fit ALS on ``user, item, value``; implicit values become ``r`` as SparkALS defines it."""
    from pyspark.sql import functions as F

    value = F.col("value")
    if not explicit and params.get("weighting", "linear") == "log":
        value = F.signum(value) * F.log1p(F.abs(value))
    elif not explicit and params.get("weighting", "linear") != "linear":
        raise ConfigError(
            f"spark_als weighting must be 'linear' or 'log', not {params['weighting']!r}"
        )
    ratings = pairs.select("user", "item", value.cast("float").alias("rating"))
    warning = checkpoint_warning(pairs.sparkSession, int(params.get("checkpoint_interval", 10)))
    if warning:
        import logging

        logging.getLogger("nextbuy.spark").warning(warning)
    return als_estimator(params, explicit).fit(ratings)


def factors_array(factors: DataFrame, n: int, rank: int) -> np.ndarray:
    """An ALS factor frame (``id``, ``features``) as ``[n, rank]`` float32; rows Spark did not
    learn (no training ratings) stay zero. Collected column by column through Arrow."""
    from pyspark.sql import functions as F

    cols = [F.col("features")[j].alias(f"f{j}") for j in range(rank)]
    frame: pd.DataFrame = factors.select(F.col("id"), *cols).toPandas()
    out = np.zeros((n, rank), dtype=np.float32)
    if len(frame):
        ids = frame["id"].to_numpy(dtype=np.int64)
        out[ids] = frame[[f"f{j}" for j in range(rank)]].to_numpy(dtype=np.float32)
    return out


def fit_interactions(
    train: Interactions, params: dict[str, Any], explicit: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Train on an in-memory :class:`Interactions` (the active or a local SparkSession)."""
    from pyspark.sql import SparkSession

    from nextbuy.spark.io import interactions_to_spark

    spark = SparkSession.getActiveSession() or get_session(in_process_options())
    pairs = interactions_to_spark(spark, train)
    model = fit_als(pairs, params, explicit)
    rank = int(params["factors"])
    users = factors_array(model.userFactors, train.n_users, rank)
    items = factors_array(model.itemFactors, train.n_items, rank)
    return users, items


# ---------------------------------------------------------------------- the whole pipeline
@dataclass
class SparkTrainResult:
    """What ``train --engine spark`` produced (mirrors ``nextbuy.training.TrainResult``)."""

    version_dir: Path
    model: Any
    metrics: dict[str, float]
    fit_seconds: float
    n_train: int
    n_test: int
    evaluations: list[Any] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def _model_name(model: str | None, explicit: bool, source: str) -> str:
    """The Spark model for ``--model`` (None or "als": chosen by the data)."""
    if model in (None, "als", "spark_als") and not explicit:
        return "spark_als"
    if model in (None, "als", "spark_als_explicit") and explicit:
        return "spark_als_explicit"
    if model == "spark_als_explicit":
        raise ConfigError(
            f"model 'spark_als_explicit' predicts ratings but {source} holds implicit events; "
            "pass --value-col rating, or use spark_als"
        )
    if model == "spark_als":
        return "spark_als"  # ratings used as implicit strengths, as Spark allows
    raise ConfigError(
        f"--engine spark trains ALS ({', '.join(SPARK_MODELS)}), not {model!r}; "
        "drop --engine spark to train it in-process"
    )


def train_spark(
    data: Path | str,
    out: Path | str,
    options: SparkOptions,
    config: Config,
    model: str | None = None,
    params: dict[str, Any] | None = None,
    name: str | None = None,
    items: Path | str | None = None,
) -> SparkTrainResult:
    """Read, index, aggregate, split, fit and evaluate in Spark; save the usual artifact.

    The driver receives only what the artifact holds: the ID maps, the aggregated training
    pairs (the seen-items matrix) and the factors.
    """
    from pyspark import StorageLevel

    from nextbuy.models import registry
    from nextbuy.spark.artifact import save_spark_artifact
    from nextbuy.spark.evaluate import evaluate_spark
    from nextbuy.spark.io import collect_interactions, collect_map, index_log, read_log
    from nextbuy.spark.split import split

    dc = config.data
    if dc.min_user_interactions > 1 or dc.min_item_interactions > 1 or dc.kcore:
        raise ConfigError(
            "--engine spark does not apply the min-count / k-core filters yet; "
            "filter the log in Spark first, or train in-process"
        )
    timings: dict[str, float] = {}
    started = time.perf_counter()
    spark = get_session(options)
    columns = dc.column_map()
    log = read_log(spark, data, columns, dc.format, dc.event_weights)
    indexed = index_log(log)
    timings["read_index_s"] = time.perf_counter() - started

    model_name = _model_name(model, log.explicit, log.source)
    model_cls = registry.get(model_name)
    chosen = config.model.params if config.model.name == model_name else {}
    merged = {**config.models.get(model_name, {}), **chosen, **(params or {})}
    estimator: Any = model_cls(**merged)  # a SparkALS (spark.models), by _model_name

    level = StorageLevel.MEMORY_AND_DISK
    sc = config.split
    if sc.method == "none":
        train_df, test_df = indexed.pairs, None
    else:
        train_df, test_df = split(indexed.pairs, sc.method, sc.test_fraction, sc.seed)
        train_df, test_df = train_df.persist(level), test_df.persist(level)
    t0 = time.perf_counter()
    als = fit_als(train_df, estimator.params, explicit=model_cls.predicts_ratings)
    rank = int(estimator.params["factors"])
    user_factors = factors_array(als.userFactors, indexed.n_users, rank)
    item_factors = factors_array(als.itemFactors, indexed.n_items, rank)
    fit_seconds = time.perf_counter() - t0
    timings["fit_s"] = fit_seconds

    t0 = time.perf_counter()
    user_map = collect_map(indexed.users, "user_id", "user", indexed.n_users)
    item_map = collect_map(indexed.items, "item_id", "item", indexed.n_items)
    train_inter = collect_interactions(train_df, user_map, item_map, log.explicit)
    estimator.set_factors(user_factors, item_factors, train_inter)
    timings["collect_s"] = time.perf_counter() - t0

    evaluations: list[Any] = []
    metrics: dict[str, float] = {}
    n_test = 0
    if test_df is not None:
        t0 = time.perf_counter()
        n_test = test_df.count()
        evaluations = evaluate_spark(
            estimator, als, train_df, test_df, indexed.n_items, k=config.evaluation.k,
            baseline=config.evaluation.baseline, label=model_name,
        )  # fmt: skip
        for result in evaluations:
            result.fit_seconds = fit_seconds if result.model == model_name else None
        metrics = dict(evaluations[0].metrics) if evaluations else {}
        timings["evaluate_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    version_dir = save_spark_artifact(
        estimator, train_inter, out, name or model_name, options=options, config=config,
        metrics={**metrics, "fit_seconds": fit_seconds}, items=items, source=log.source,
        timings=timings,
    )  # fmt: skip
    timings["save_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - started
    return SparkTrainResult(
        version_dir=version_dir,
        model=estimator,
        metrics=metrics,
        fit_seconds=fit_seconds,
        n_train=len(train_inter),
        n_test=n_test,
        evaluations=evaluations,
        timings=timings,
    )
