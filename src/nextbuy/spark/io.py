"""Interaction logs in Spark: read CSV/Parquet/JSONL, map string IDs to ints, aggregate pairs.

The rules are those of :mod:`nextbuy.data.sources` and DESIGN section 2, applied inside
Spark so that the raw log never reaches the driver: IDs stay strings (``"007"`` is not
``7``), the value comes from ``--value-col``, a ``rating`` column (explicit), a ``value``
column, event weights, or 1; timestamps become epoch seconds. Only the ID maps, the
aggregated training pairs and the factors (what the artifact holds) are collected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nextbuy.data.feedback import choose_value
from nextbuy.data.ids import IdMap
from nextbuy.data.interactions import Interactions
from nextbuy.data.sources import DEFAULT_EVENT_WEIGHTS, ColumnMap
from nextbuy.errors import DataError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

#: Largest index Spark's ALS accepts for a user or item (it stores them as Int).
MAX_INDEX = 2**31 - 1
#: Formats Spark reads itself; others go through NextBuy's reader on the driver (small files).
SPARK_FORMATS = ("csv", "tsv", "parquet", "jsonl")
_SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
             ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}  # fmt: skip


@dataclass
class SparkLog:
    """A canonical log in Spark: ``user_id``, ``item_id`` (str), ``value`` (double),
    ``timestamp`` (long seconds), ``event`` (str or null) and ``row`` (file order, for ties)."""

    frame: DataFrame
    explicit: bool
    source: str


@dataclass
class IndexedLog:
    """One row per (user, item) with dense int indices, and the two ID maps (in Spark)."""

    pairs: DataFrame  # user, item (int), value (double), timestamp (long), row (long)
    users: DataFrame  # user_id (str), user (int), in index order 0..n-1
    items: DataFrame  # item_id (str), item (int)
    n_users: int
    n_items: int
    explicit: bool


# ---------------------------------------------------------------------- reading
def spark_format(path: str, fmt: str | None) -> str:
    """The reader for ``path``: csv, tsv, parquet (a file or a folder of part files), jsonl,
    or "local" (MovieLens, retail, xlsx: read by NextBuy on the driver)."""
    if fmt is not None:
        fmt = fmt.lower()
        return fmt if fmt in SPARK_FORMATS else "local"
    local = Path(path)
    remote = "://" in path and not path.startswith("file://")
    if local.is_dir():
        parts = list(local.glob("*.parquet")) + list(local.glob("*/*.parquet"))
        return "parquet" if parts or (local / "_SUCCESS").exists() else "local"
    suffixes = [s.lower() for s in local.suffixes if s.lower() not in (".gz", ".bz2", ".snappy")]
    if suffixes and suffixes[-1] in _SUFFIXES:
        return _SUFFIXES[suffixes[-1]]
    return "parquet" if remote else "local"  # a data lake folder (hdfs://, s3a://, gs://)


def read_log(
    spark: SparkSession,
    path: str | Path,
    columns: ColumnMap = ColumnMap(),
    fmt: str | None = None,
    event_weights: dict[str, float] | None = None,
) -> SparkLog:
    """Read an interaction log with NextBuy's column rules; nothing is collected."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    source = str(path)
    kind = spark_format(source, fmt)
    if kind == "local":
        return _read_local(spark, source, columns, fmt, event_weights)
    reader = spark.read
    if kind in ("csv", "tsv"):
        sep = "\t" if kind == "tsv" else _sniff(spark, source)
        # no schema inference: every column is text, so "007" keeps its zeros
        raw = reader.csv(source, header=True, sep=sep, inferSchema=False)
    elif kind == "parquet":
        raw = reader.parquet(source)
    else:
        raw = reader.option("primitivesAsString", "true").json(source)
    found = raw.columns
    wanted = [columns.user, columns.item, columns.value, columns.time, columns.event]
    for col in (c for c in wanted if c is not None):
        if col not in found:
            raise DataError(f"{source}: missing column {col!r} (found: {', '.join(found)})")
    dtypes = dict(raw.dtypes)
    out = {
        "user_id": _id_column(F.col(f"`{columns.user}`"), dtypes[columns.user]),
        "item_id": _id_column(F.col(f"`{columns.item}`"), dtypes[columns.item]),
    }
    event_col = columns.event or ("event" if "event" in found else None)
    event = F.lower(F.trim(F.col(f"`{event_col}`").cast("string"))) if event_col else None
    # the same rule as in-process reading (--rating-col, --explicit, a 'rating' column ...)
    choice = choose_value(columns.value, columns.explicit, found, event_col, source)
    value_col, explicit = choice.column, choice.explicit
    if value_col is not None:
        value = F.col(f"`{value_col}`").cast("double")
    elif event is not None:
        value = _event_weights(event, event_weights)
    else:
        value = F.lit(1.0)
    time_col = columns.time or ("timestamp" if "timestamp" in found else None)
    frame = raw.select(
        out["user_id"].alias("user_id"),
        out["item_id"].alias("item_id"),
        value.alias("value"),
        (F.col(f"`{time_col}`") if time_col else F.lit(None)).alias("_time"),
        (event if event is not None else F.lit(None).cast("string")).alias("event"),
        F.monotonically_increasing_id().alias("row"),
    )
    # read the source once: the passes below (time scale, validation, ID maps) reuse it
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    frame = _epoch_seconds(frame, dtypes.get(time_col or "", "string"), time_col is not None)
    _validate(frame, source, columns, value_col, event_col if value_col is None else None)
    return SparkLog(frame=frame, explicit=explicit, source=source)


def _sniff(spark: SparkSession, path: str) -> str:
    """The delimiter of a CSV from its header line (comma unless another one is clearly used)."""
    header = spark.read.text(path).limit(1).collect()
    line = header[0][0] if header else ""
    if "," in line:
        return ","
    counts = {d: line.count(d) for d in ("\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _id_column(col: Column, dtype: str) -> Column:
    """IDs as text; integral floats (a numeric column with gaps) lose their ``.0``."""
    from pyspark.sql import functions as F

    if dtype in ("float", "double") or dtype.startswith("decimal"):
        return F.when(col == F.floor(col), col.cast("long").cast("string")).otherwise(
            col.cast("string")
        )
    return col.cast("string")


def _event_weights(event: Column, weights: dict[str, float] | None) -> Column:
    """Each event's weight; unknown types weigh 1 (or null, an error, with a custom table)."""
    from itertools import chain

    from pyspark.sql import functions as F

    table = {**DEFAULT_EVENT_WEIGHTS, **(weights or {})}
    mapping = F.create_map(
        *chain.from_iterable((F.lit(k), F.lit(float(v))) for k, v in table.items())
    )
    looked_up = mapping[event]
    return looked_up if weights is not None else F.coalesce(looked_up, F.lit(1.0))


def _epoch_seconds(frame: DataFrame, dtype: str, present: bool) -> DataFrame:
    """Replace ``_time`` by ``timestamp``: epoch seconds from numbers (s, ms, us or ns by
    magnitude, as NextBuy's reader) or ISO 8601 text; 0 where the file has no time column."""
    from pyspark.sql import functions as F

    if not present:
        return frame.withColumn("timestamp", F.lit(0).cast("long")).drop("_time")
    if dtype == "timestamp" or dtype.startswith("timestamp"):
        return frame.withColumn("timestamp", F.unix_timestamp("_time")).drop("_time")
    numeric = F.col("_time").cast("double")
    parsed = F.unix_timestamp(F.to_timestamp(F.col("_time").cast("string")))
    med = frame.select(F.percentile_approx(F.abs(numeric), 0.5).alias("m")).first()
    scale = float(med["m"]) if med is not None and med["m"] is not None else 0.0
    divisor = 1e9 if scale >= 1e17 else 1e6 if scale >= 1e14 else 1e3 if scale >= 1e11 else 1.0
    seconds = F.when(numeric.isNotNull(), F.floor(numeric / F.lit(divisor))).otherwise(parsed)
    return frame.withColumn("timestamp", seconds.cast("long")).drop("_time")


def _validate(
    frame: DataFrame, source: str, columns: ColumnMap, value_col: str | None, event_col: str | None
) -> None:
    """One pass counting empty IDs, non-numeric values and bad times; errors name an example."""
    from pyspark.sql import functions as F

    checks = {
        columns.user: (F.col("user_id").isNull() | (F.trim("user_id") == ""), "a non-empty ID"),
        columns.item: (F.col("item_id").isNull() | (F.trim("item_id") == ""), "a non-empty ID"),
        (value_col or event_col or "value"): (
            F.col("value").isNull() | F.isnan("value"),
            "a number" if value_col else "a known event type",
        ),
        (columns.time or "timestamp"): (F.col("timestamp").isNull(), "epoch seconds or ISO 8601"),
    }
    row = frame.select(
        *[
            F.sum(F.when(bad, 1).otherwise(0)).alias(f"c{i}")
            for i, (bad, _) in enumerate(checks.values())
        ],
        F.count(F.lit(1)).alias("n"),
    ).first()
    if row is None or not row["n"]:
        raise DataError(f"{source}: no data rows")
    for i, (name, (_, expected)) in enumerate(checks.items()):
        if row[f"c{i}"]:
            raise DataError(
                f"{source}: column {name!r}: {row[f'c{i}']:,} row(s) are not {expected}"
            )


def _read_local(
    spark: SparkSession,
    path: str,
    columns: ColumnMap,
    fmt: str | None,
    event_weights: dict[str, float] | None,
) -> SparkLog:
    """Formats Spark does not read (MovieLens, retail exports): NextBuy's reader, then Spark."""
    from nextbuy.data.sources import read_interactions

    dataset = read_interactions(path, columns, format=fmt, event_weights=event_weights)
    frame = dataset.frame.copy()
    if "event" not in frame.columns:
        frame["event"] = None
    frame["row"] = np.arange(len(frame), dtype=np.int64)
    frame = frame.astype({"user_id": object, "item_id": object, "event": object})
    schema = "user_id string, item_id string, value double, timestamp long, event string, row long"
    sdf = spark.createDataFrame(
        frame[["user_id", "item_id", "value", "timestamp", "event", "row"]], schema
    )
    return SparkLog(frame=sdf, explicit=dataset.explicit, source=path)


# ---------------------------------------------------------------------- IDs and aggregation
def dense_index(ids: DataFrame, id_col: str, index_col: str) -> tuple[DataFrame, int]:
    """Distinct IDs in ascending string order with indices 0..n-1, computed in Spark.

    Range partitioning sorts the IDs across partitions; each partition numbers its rows and
    adds the sizes of the partitions before it (one small count per partition reaches the
    driver), so no single task sees every ID. String order is byte order, which for UTF-8 is
    code-point order: the order of :class:`IdMap` built by ``Interactions.from_frame``.
    """
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    distinct = ids.select(F.col(id_col)).distinct()
    n_parts = max(1, distinct.rdd.getNumPartitions())
    ordered = (
        distinct.repartitionByRange(n_parts, id_col)
        .sortWithinPartitions(id_col)
        .withColumn("_part", F.spark_partition_id())
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    sizes: dict[int, int] = {int(p): int(c) for p, c in ordered.groupBy("_part").count().collect()}
    offsets, total = {}, 0
    for part in sorted(sizes):
        offsets[part] = total
        total += int(sizes[part])
    if total > MAX_INDEX:
        raise DataError(
            f"{total:,} distinct {id_col} values: Spark's ALS takes at most {MAX_INDEX:,}"
        )
    offset_df = ids.sparkSession.createDataFrame(
        [(int(p), int(o)) for p, o in offsets.items()] or [(0, 0)], "_part int, _offset long"
    )
    local = Window.partitionBy("_part").orderBy(id_col)
    indexed = (
        ordered.withColumn("_local", F.row_number().over(local) - 1)
        .join(F.broadcast(offset_df), "_part")
        .select(id_col, (F.col("_offset") + F.col("_local")).cast("int").alias(index_col))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    indexed.count()  # materialise before the sorted input is released
    ordered.unpersist()
    return indexed, total


def index_log(log: SparkLog) -> IndexedLog:
    """Map IDs to dense ints and aggregate duplicated pairs (DESIGN section 2), in Spark.

    Explicit data keeps the latest rating by timestamp (ties: the later row in the file);
    implicit data sums the values and keeps the latest timestamp.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    users, n_users = dense_index(log.frame, "user_id", "user")
    items, n_items = dense_index(log.frame, "item_id", "item")
    joined = log.frame.join(users, "user_id").join(items, "item_id")
    latest = F.struct("timestamp", "row")
    value = F.max_by("value", latest) if log.explicit else F.sum("value")
    pairs = (
        joined.groupBy("user", "item")
        .agg(
            value.alias("value"),
            F.max("timestamp").alias("timestamp"),
            F.max("row").alias("row"),
        )
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    pairs.count()  # materialise, then release the raw log (string IDs: the largest cache)
    log.frame.unpersist()
    return IndexedLog(pairs, users, items, n_users, n_items, log.explicit)


def interactions_to_spark(spark: SparkSession, inter: Interactions) -> DataFrame:
    """An in-memory :class:`Interactions` as a Spark frame of ``user, item, value, timestamp``."""
    frame = pd.DataFrame(
        {
            "user": inter.users.astype(np.int32),
            "item": inter.items.astype(np.int32),
            "value": inter.values.astype(np.float64),
            "timestamp": inter.timestamps.astype(np.int64),
            "row": np.arange(len(inter), dtype=np.int64),
        }
    )
    return spark.createDataFrame(
        frame, "user int, item int, value double, timestamp long, row long"
    )


# ---------------------------------------------------------------------- what the artifact holds
def collect_map(ids: DataFrame, id_col: str, index_col: str, n: int) -> IdMap:
    """The ID map as an :class:`IdMap` (strings kept as they are), checking indices 0..n-1."""
    frame: pd.DataFrame = ids.orderBy(index_col).toPandas()
    index = frame[index_col].to_numpy()
    if len(index) != n or not np.array_equal(index, np.arange(n)):
        raise DataError(f"Spark ID map of {id_col} is not dense 0..{n - 1}")
    return IdMap(frame[id_col].astype(object).to_numpy(dtype=object))


def collect_interactions(
    pairs: DataFrame, user_map: IdMap, item_map: IdMap, explicit: bool
) -> Interactions:
    """Aggregated pairs (one row each) as :class:`Interactions` on the given maps."""
    frame: pd.DataFrame = pairs.select("user", "item", "value", "timestamp").toPandas()
    order = np.lexsort((frame["item"].to_numpy(), frame["user"].to_numpy()))
    return Interactions(
        user_map=user_map,
        item_map=item_map,
        users=frame["user"].to_numpy(dtype=np.int32)[order],
        items=frame["item"].to_numpy(dtype=np.int32)[order],
        values=frame["value"].to_numpy(dtype=np.float32)[order],
        timestamps=frame["timestamp"].to_numpy(dtype=np.int64)[order],
        explicit=explicit,
    )
