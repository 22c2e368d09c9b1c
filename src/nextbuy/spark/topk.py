"""Top-K over factors inside Spark: every user scored against every item, seen items excluded.

Spark's ``recommendForAllUsers`` cannot exclude what a user already has, so NextBuy scores
blocks of users in the executors instead (``mapInPandas``): the item factors are broadcast,
each user's seen items arrive by a Spark join, and a block is ``U @ V.T``, seen entries set
to ``-inf``, then :func:`nextbuy.retrieval.topk`, the same code the server and the in-process
batch use. Users without a vector get the fallback scores (item popularity), as in serving.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: Output schema of :func:`topk_frame`.
SCHEMA = "user int, rank int, item int, score float"
#: Floats of one score block (rows x items) held at once in an executor: 64 MiB.
_BLOCK_FLOATS = 1 << 24


def topk_frame(
    users: DataFrame,
    item_factors: np.ndarray,
    k: int,
    seen: DataFrame | None = None,
    fallback: np.ndarray | None = None,
    partitions: int | None = None,
) -> DataFrame:
    """Top-``k`` rows ``user, rank (1-based), item, score`` for each row of ``users``.

    ``users`` has ``user`` (int) and ``vec`` (array<float>, null = no vector: scored by
    ``fallback``); ``seen`` has ``user, item`` pairs never to return. Slots with nothing left
    (every item seen) are omitted, like the -1 slots of ``Recommender.recommend``.
    """
    from pyspark.sql import functions as F

    spark = users.sparkSession
    items = np.ascontiguousarray(item_factors, dtype=np.float32)
    n_items = items.shape[0]
    fallback_scores = (
        np.zeros(n_items, dtype=np.float32)
        if fallback is None
        else np.ascontiguousarray(fallback, dtype=np.float32)
    )
    shared = spark.sparkContext.broadcast((items, fallback_scores))
    frame = users.select("user", "vec")
    if seen is not None:
        lists = seen.groupBy("user").agg(F.collect_list("item").alias("seen"))
        frame = frame.join(lists, "user", "left")
    else:
        frame = frame.withColumn("seen", F.lit(None).cast("array<int>"))
    if partitions:
        frame = frame.repartition(int(partitions), "user")
    rows = max(1, min(4096, _BLOCK_FLOATS // max(n_items, 1)))
    top = int(k)

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        vectors, pop = shared.value
        for batch in batches:
            for start in range(0, len(batch), rows):
                out = score_block(batch.iloc[start : start + rows], vectors, pop, top)
                if len(out):
                    yield out

    return frame.mapInPandas(score, SCHEMA)


def score_block(
    block: pd.DataFrame, vectors: np.ndarray, fallback: np.ndarray, k: int
) -> pd.DataFrame:
    """Top-``k`` of one block of users (columns ``user``, ``vec``, ``seen``) in long form."""
    from nextbuy.retrieval import topk

    n = len(block)
    vec = block["vec"].to_numpy(dtype=object)
    has = np.fromiter((v is not None for v in vec), dtype=bool, count=n)
    scores = np.empty((n, vectors.shape[0]), dtype=np.float32)
    if has.any():
        mat = np.stack([np.asarray(v, dtype=np.float32) for v in vec[has]])
        scores[has] = mat @ vectors.T
    if (~has).any():
        scores[~has] = fallback
    seen = block["seen"].to_numpy(dtype=object)
    lengths = np.fromiter((0 if s is None else len(s) for s in seen), dtype=np.int64, count=n)
    if lengths.sum():
        cols = np.concatenate([np.asarray(s, dtype=np.int64) for s in seen if s is not None])
        scores[np.repeat(np.arange(n), lengths), cols] = -np.inf
    ids, vals = topk(scores, min(k, vectors.shape[0]))
    width = ids.shape[1]
    keep = np.isfinite(vals).ravel()
    return pd.DataFrame(
        {
            "user": np.repeat(block["user"].to_numpy(dtype=np.int32), width)[keep],
            "rank": np.tile(np.arange(1, width + 1, dtype=np.int32), n)[keep],
            "item": ids.ravel()[keep].astype(np.int32),
            "score": vals.ravel()[keep].astype(np.float32),
        }
    )


def vectors_frame(
    spark_session: object, users: np.ndarray, vectors: np.ndarray | None
) -> DataFrame:
    """A ``user, vec`` frame from driver arrays (``vectors`` None: every user falls back)."""
    from pyspark.sql import SparkSession

    assert isinstance(spark_session, SparkSession)
    users = np.asarray(users, dtype=np.int32)
    if vectors is None:
        frame = pd.DataFrame({"user": users, "vec": [None] * len(users)})
    else:
        vecs = np.asarray(vectors, dtype=np.float32)
        frame = pd.DataFrame({"user": users, "vec": list(vecs)})
    return spark_session.createDataFrame(frame, "user int, vec array<float>")
