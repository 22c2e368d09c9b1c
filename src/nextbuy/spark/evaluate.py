"""Held-out evaluation inside Spark, with the metric definitions of :mod:`nextbuy.evaluation`.

Full ranking: every item not in the user's training rows competes (:mod:`nextbuy.spark.topk`);
binary relevance; test pairs also in train are dropped; averages over users with test items.
With ``m = min(K, |T_u|)``: precision = hits / K, recall = hits / m, NDCG = DCG / IDCG over
``m`` ideal hits (gain 1 / log2(rank + 1)), MAP = sum of precision at each hit / m, MRR =
1 / first hit rank, hit rate = any hit; coverage = distinct recommended items / catalogue.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from nextbuy.evaluation.evaluate import EvaluationResult
from nextbuy.evaluation.metrics import RANKING_METRICS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def ranking_metrics_spark(
    recs: DataFrame, truth: DataFrame, k: int, n_items: int
) -> dict[str, float]:
    """``precision@k`` … ``coverage@k`` of ``recs`` (user, rank, item) against ``truth``
    (user, item), as :func:`nextbuy.evaluation.metrics.ranking_metrics` defines them.

    Users are those in ``truth``; a user without recommendations scores zero. An item
    repeated in one user's list counts once, at its best rank.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    top = (
        recs.where((F.col("rank") >= 1) & (F.col("rank") <= k))
        .groupBy("user", "item")
        .agg(F.min("rank").alias("rank"))
    )
    rel = truth.select("user", "item").distinct()
    n_rel = rel.groupBy("user").agg(F.count(F.lit(1)).alias("n_rel"))
    hits = top.join(rel, ["user", "item"]).withColumn(
        "nth", F.row_number().over(Window.partitionBy("user").orderBy("rank"))
    )
    per_hit = hits.groupBy("user").agg(
        F.count(F.lit(1)).alias("n_hits"),
        F.sum(1.0 / F.log2(F.col("rank") + 1.0)).alias("dcg"),
        F.sum(F.col("nth") / F.col("rank")).alias("ap"),
        F.min("rank").alias("first"),
    )
    users = n_rel.join(per_hit, "user", "left").fillna({"n_hits": 0, "dcg": 0.0, "ap": 0.0})
    ideal = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    m = F.least(F.lit(k), F.col("n_rel"))
    idcg = F.element_at(F.array(*[F.lit(float(x)) for x in ideal]), (m + 1).cast("int"))
    denom = F.greatest(m, F.lit(1))
    row = users.agg(
        F.avg(F.col("n_hits") / F.lit(float(k))).alias("precision"),
        F.avg(F.col("n_hits") / denom).alias("recall"),
        F.avg(F.col("dcg") / F.greatest(idcg, F.lit(1e-12))).alias("ndcg"),
        F.avg(F.col("ap") / denom).alias("map"),
        F.avg(F.when(F.col("first").isNull(), 0.0).otherwise(1.0 / F.col("first"))).alias("mrr"),
        F.avg((F.col("n_hits") > 0).cast("double")).alias("hit_rate"),
    ).first()
    out = {
        f"{name}@{k}": (math.nan if row is None or row[name] is None else float(row[name]))
        for name in RANKING_METRICS
        if name != "coverage"
    }
    covered = top.where((F.col("item") >= 0) & (F.col("item") < n_items)).select("item").distinct()
    out[f"coverage@{k}"] = covered.count() / n_items if n_items > 0 else math.nan
    return out


def rating_metrics_spark(predictions: DataFrame) -> dict[str, float]:
    """``rmse`` and ``mae`` of ``prediction`` against ``value`` over rows with a prediction."""
    from pyspark.sql import functions as F

    ok = predictions.where(F.col("prediction").isNotNull() & ~F.isnan("prediction"))
    err = F.col("prediction") - F.col("value")
    row = ok.agg(F.sqrt(F.avg(err * err)).alias("rmse"), F.avg(F.abs(err)).alias("mae")).first()
    return {
        key: math.nan if row is None or row[key] is None else float(row[key])
        for key in ("rmse", "mae")
    }


def explicit_predictions(model: Any, als: Any, test: DataFrame) -> DataFrame:
    """``SparkExplicitALS.predict`` in Spark: ``x.y`` clipped to the training range, the
    damped item mean for users without factors, zero factors for items without ratings."""
    import pandas as pd
    from pyspark.sql import functions as F

    spark = test.sparkSession
    means = pd.DataFrame(
        {"item": np.arange(len(model.item_mean_), dtype=np.int32),
         "item_mean": np.asarray(model.item_mean_, dtype=np.float64)}
    )  # fmt: skip
    mean_df = spark.createDataFrame(means, "item int, item_mean double")
    users = als.userFactors.select(F.col("id").alias("user"), F.col("features").alias("u"))
    items = als.itemFactors.select(F.col("id").alias("item"), F.col("features").alias("v"))
    dot = F.aggregate(
        F.zip_with("u", "v", lambda a, b: a.cast("double") * b.cast("double")),
        F.lit(0.0),
        lambda acc, x: acc + x,
    )
    lo, hi = (float(x) for x in model.rating_range_)
    raw = F.when(F.col("u").isNull(), F.col("item_mean")).when(F.col("v").isNull(), 0.0)
    raw = raw.otherwise(dot)
    return (
        test.join(users, "user", "left")
        .join(items, "item", "left")
        .join(F.broadcast(mean_df), "item", "left")
        .select(
            "user",
            "item",
            "value",
            F.least(F.greatest(raw, F.lit(lo)), F.lit(hi)).alias("prediction"),
        )
    )


def evaluate_spark(
    model: Any,
    als: Any,
    train: DataFrame,
    test: DataFrame,
    n_items: int,
    k: int = 10,
    baseline: str | None = "popularity",
    label: str | None = None,
) -> list[EvaluationResult]:
    """The trained model (and the popularity baseline) on ``test``, all in Spark.

    ``model`` is the fitted :class:`~nextbuy.spark.models.SparkALS` (its item factors and
    popularity), ``als`` Spark's ``ALSModel`` (its user factors stay in Spark).
    """
    from pyspark.sql import functions as F

    from nextbuy.spark.topk import topk_frame

    pairs = test.select("user", "item")
    truth = pairs.join(train.select("user", "item"), ["user", "item"], "left_anti").distinct()
    n_rows, n_truth = pairs.count(), truth.count()
    eval_users = truth.select("user").distinct()
    n_users = eval_users.count()
    factors = als.userFactors.select(F.col("id").alias("user"), F.col("features").alias("vec"))
    seen = train.select("user", "item")
    results = []
    started = time.perf_counter()
    recs = topk_frame(
        eval_users.join(factors, "user", "left"), model.item_factors_, k, seen,
        fallback=model.popularity_,
    )  # fmt: skip
    metrics = ranking_metrics_spark(recs, truth, k, n_items)
    seconds = time.perf_counter() - started
    if model.predicts_ratings:
        metrics.update(rating_metrics_spark(explicit_predictions(model, als, test)))
    results.append(
        EvaluationResult(
            model=label or model.name,
            k=k,
            n_users=n_users,
            metrics=metrics,
            recommend_seconds=seconds,
            n_test_seen=n_rows - n_truth,
            params=model.get_params(),
        )  # fmt: skip
    )
    if baseline == "popularity":
        counts = np.bincount(model.user_items_.indices, minlength=n_items).astype(np.float32)
        started = time.perf_counter()
        pop_users = eval_users.withColumn("vec", F.lit(None).cast("array<float>"))
        recs = topk_frame(pop_users, model.item_factors_, k, seen, fallback=counts)
        pop = ranking_metrics_spark(recs, truth, k, n_items)
        results.append(
            EvaluationResult(
                model="popularity",
                k=k,
                n_users=n_users,
                metrics=pop,
                recommend_seconds=time.perf_counter() - started,
                n_test_seen=n_rows - n_truth,
            )  # fmt: skip
        )
    return results
