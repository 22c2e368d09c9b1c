"""``nextbuy batch --engine spark``: top-K for every user of any factor-model artifact.

The driver stages what Spark needs from the artifact as Parquet (user vectors and the seen
pairs, chunk by chunk from the memory-mapped arrays), Spark joins each user's seen items to
their vector, scores blocks against the broadcast item factors with seen items excluded,
and writes ``user_id, rank, item_id, score`` as a folder of Parquet part files.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nextbuy.errors import ConfigError
from nextbuy.spark.session import SparkOptions, get_session

#: Users staged per Parquet row group.
_CHUNK = 200_000


@dataclass
class SparkBatchResult:
    """Where the recommendations went and what it took."""

    out: str
    n_users: int
    n_rows: int
    n_unknown: int
    seconds: float


def _stage_users(path: Path, users: np.ndarray, ids: np.ndarray, factors: object) -> None:
    """``user, user_id, vec`` (null vec = fallback) as Parquet, ``_CHUNK`` users at a time."""
    from nextbuy.spark.factors import ScoringFactors

    assert isinstance(factors, ScoringFactors)
    schema = pa.schema(
        [("user", pa.int32()), ("user_id", pa.string()), ("vec", pa.list_(pa.float32()))]
    )
    with pq.ParquetWriter(path, schema) as writer:
        for lo in range(0, len(users), _CHUNK):
            idx = users[lo : lo + _CHUNK]
            vec, missing = factors.users(idx)
            d = vec.shape[1]
            offsets = pa.array(np.arange(len(idx) + 1, dtype=np.int32) * d)
            lists = pa.ListArray.from_arrays(offsets, pa.array(vec.reshape(-1), pa.float32()))
            lists = pa.ListArray.from_arrays(
                offsets, lists.values, mask=pa.array(missing, pa.bool_())
            )
            table = pa.table(
                {
                    "user": pa.array(np.arange(lo, lo + len(idx), dtype=np.int32)),
                    "user_id": pa.array(ids[lo : lo + _CHUNK].astype(str)),
                    "vec": lists,
                },
                schema=schema,
            )
            writer.write_table(table)


def _stage_seen(path: Path, seen: object, users: np.ndarray) -> None:
    """``user, item`` pairs of the seen matrix rows of ``users`` (row positions as ``user``)."""
    import scipy.sparse as sp

    assert sp.issparse(seen)
    csr = sp.csr_matrix(seen)
    schema = pa.schema([("user", pa.int32()), ("item", pa.int32())])
    with pq.ParquetWriter(path, schema) as writer:
        for lo in range(0, len(users), _CHUNK):
            idx = users[lo : lo + _CHUNK]
            known = (idx >= 0) & (idx < csr.shape[0])
            rows = csr[idx[known]]
            where = np.arange(lo, lo + len(idx), dtype=np.int32)[known]
            pos = np.repeat(where, np.diff(rows.indptr))
            items = rows.indices
            writer.write_table(
                pa.table({"user": pos, "item": items.astype(np.int32)}, schema=schema)
            )


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
    staging = Path(f"{out.rstrip('/')}.staging")
    if "://" in out:
        raise ConfigError(
            "--out on a cluster file system: run the batch where the artifact is and write "
            "locally, or copy the artifact next to the driver (staging uses local files)"
        )
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _stage_users(staging / "users.parquet", index, ids, factors)
        _stage_seen(staging / "seen.parquet", artifact.seen, index)
        users = spark.read.parquet(str((staging / "users.parquet").resolve()))
        seen = spark.read.parquet(str((staging / "seen.parquet").resolve()))
        n_parts = partitions or max(spark.sparkContext.defaultParallelism, len(ids) // 100_000)
        recs = topk_frame(users, factors.items, k, seen, factors.fallback, partitions=n_parts)
        item_ids = np.asarray(artifact.item_map.ids, dtype=str)
        items = spark.createDataFrame(
            pa.table(
                {"item": np.arange(len(item_ids), dtype=np.int32), "item_id": item_ids}
            ).to_pandas(),
            "item int, item_id string",
        )
        written = (
            recs.join(users.select("user", "user_id"), "user")
            .join(F.broadcast(items), "item")
            .select("user_id", "rank", "item_id", "score")
        )
        written.write.mode("overwrite").parquet(out)
        n_rows = spark.read.parquet(out).count()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return SparkBatchResult(
        out=out,
        n_users=len(ids),
        n_rows=n_rows,
        n_unknown=int((index < 0).sum()),
        seconds=time.perf_counter() - started,
    )
