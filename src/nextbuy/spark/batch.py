"""``nextbuy batch --engine spark``: top-K for every user of any factor-model artifact.

The driver hands Spark what it needs from the artifact through Arrow (user vectors and the
seen pairs, chunk by chunk from the memory-mapped arrays), Spark joins each user's seen items
to their vector, scores blocks against the broadcast item factors with seen items excluded,
and writes ``user_id, rank, item_id, score`` as a folder of Parquet part files.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from nextbuy.errors import ConfigError
from nextbuy.spark.session import SparkOptions, get_session

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Users per table handed to Spark.
_CHUNK = 200_000
USERS_SCHEMA = pa.schema(
    [("user", pa.int32()), ("user_id", pa.string()), ("vec", pa.list_(pa.float32()))]
)
SEEN_SCHEMA = pa.schema([("user", pa.int32()), ("item", pa.int32())])


@dataclass
class SparkBatchResult:
    """Where the recommendations went and what it took."""

    out: str
    n_users: int
    n_rows: int
    n_unknown: int
    seconds: float


def _user_tables(users: np.ndarray, ids: np.ndarray, factors: object) -> Iterator[pa.Table]:
    """``user`` (position), ``user_id``, ``vec`` (null = fallback), ``_CHUNK`` users a table."""
    from nextbuy.spark.factors import ScoringFactors

    assert isinstance(factors, ScoringFactors)
    for lo in range(0, len(users), _CHUNK):
        idx = users[lo : lo + _CHUNK]
        vec, missing = factors.users(idx)
        d = vec.shape[1]
        offsets = pa.array(np.arange(len(idx) + 1, dtype=np.int32) * d)
        values = pa.array(vec.reshape(-1), pa.float32())
        lists = pa.ListArray.from_arrays(offsets, values, mask=pa.array(missing, pa.bool_()))
        yield pa.table(
            {
                "user": pa.array(np.arange(lo, lo + len(idx), dtype=np.int32)),
                "user_id": pa.array(ids[lo : lo + _CHUNK].astype(str)),
                "vec": lists,
            },
            schema=USERS_SCHEMA,
        )


def _seen_tables(seen: sp.csr_matrix, users: np.ndarray) -> Iterator[pa.Table]:
    """``user`` (position), ``item`` pairs of the seen rows of ``users``, chunk by chunk."""
    csr = sp.csr_matrix(seen)
    for lo in range(0, len(users), _CHUNK):
        idx = users[lo : lo + _CHUNK]
        known = (idx >= 0) & (idx < csr.shape[0])
        rows = csr[idx[known]]
        where = np.arange(lo, lo + len(idx), dtype=np.int32)[known]
        yield pa.table(
            {"user": np.repeat(where, np.diff(rows.indptr)), "item": rows.indices.astype(np.int32)},
            schema=SEEN_SCHEMA,
        )


def _to_spark(spark: SparkSession, tables: Iterator[pa.Table], schema: pa.Schema) -> DataFrame:
    """Driver tables as one Spark frame (shipped through Arrow, so any cluster can read it)."""
    arrow = int(str(spark.version).split(".")[0]) >= 4  # 3.5 takes pandas, not Arrow tables
    frames = []
    for table in tables:
        source: Any = table if arrow else table.to_pandas()
        frames.append(spark.createDataFrame(source, _ddl(schema)))
    if not frames:
        return spark.createDataFrame([], _ddl(schema))
    return functools.reduce(lambda a, b: a.unionByName(b), frames)


def _ddl(schema: pa.Schema) -> str:
    names = {pa.int32(): "int", pa.string(): "string", pa.list_(pa.float32()): "array<float>"}
    return ", ".join(f"{f.name} {names[f.type]}" for f in schema)


def batch_spark(
    model_dir: str | Path,
    out: str | Path,
    options: SparkOptions,
    k: int = 10,
    users_file: str | Path | None = None,
    partitions: int | None = None,
) -> SparkBatchResult:
    """Top-``k`` per user (all users, or those in ``users_file``) written to ``out`` (a folder).

    Unknown users in ``users_file`` get the model's fallback (popular items), as in serving.
    """
    from pyspark.sql import functions as F

    from nextbuy.artifacts import load_artifact
    from nextbuy.spark.factors import scoring_factors
    from nextbuy.spark.topk import topk_frame
    from nextbuy.tables import read_id_list

    out = str(out)
    if out.endswith((".csv", ".tsv", ".json")):
        raise ConfigError(f"--out {out}: the Spark batch writes a folder of Parquet part files")
    started = time.perf_counter()
    artifact = load_artifact(model_dir)
    factors = scoring_factors(artifact.model)
    if users_file is None:
        ids = np.asarray(artifact.user_map.ids, dtype=object)
        index = np.arange(len(ids), dtype=np.int64)
    else:
        ids = np.asarray(read_id_list(Path(users_file), "user_id"), dtype=object)
        index = artifact.user_map.index(ids).astype(np.int64)
    spark = get_session(options)
    users = _to_spark(spark, _user_tables(index, ids, factors), USERS_SCHEMA)
    seen = _to_spark(spark, _seen_tables(artifact.seen, index), SEEN_SCHEMA)
    n_parts = partitions or max(spark.sparkContext.defaultParallelism, len(ids) // 100_000)
    recs = topk_frame(users, factors.items, k, seen, factors.fallback, partitions=n_parts)
    item_ids = np.asarray(artifact.item_map.ids, dtype=str)
    items = _to_spark(
        spark,
        iter([pa.table({"item": np.arange(len(item_ids), dtype=np.int32), "item_id": item_ids})]),
        pa.schema([("item", pa.int32()), ("item_id", pa.string())]),
    )
    written = (
        recs.join(users.select("user", "user_id"), "user")
        .join(F.broadcast(items), "item")
        .select("user_id", "rank", "item_id", "score")
    )
    written.write.mode("overwrite").parquet(out)
    n_rows = spark.read.parquet(out).count()
    return SparkBatchResult(
        out=out,
        n_users=len(ids),
        n_rows=n_rows,
        n_unknown=int((index < 0).sum()),
        seconds=time.perf_counter() - started,
    )
