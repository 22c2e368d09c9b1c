"""Train/test splits in Spark with the definitions of :mod:`nextbuy.data.split`.

The counts are the same (``round(f * n)`` rows at random, ``floor(f * n_u + 0.5)`` per user
clipped to ``[1, n_u - 1]``, a global time cutoff leaving about ``f`` of the rows after it,
the last ``n`` per user); the random draws are a seeded hash of (user, item), so a split
does not depend on how Spark partitions the data. Cutoffs are exact order statistics found
by bucket counts, never by sorting everything into one task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nextbuy.errors import DataError, NextBuyError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: Buckets per pass of :func:`kth_smallest`; a window this small is collected and sorted.
_BUCKETS = 4096
_COLLECT = 200_000
_METHODS = {"random": "random", "user": "user", "by_user": "user", "per_user": "user",
            "time": "time", "temporal": "time", "last": "last", "leave_last": "last",
            "leave-last": "last", "loo": "last",
            "auto": "random"}  # fmt: skip  # auto: the per-user temporal split is in-process only


def split(
    pairs: DataFrame,
    method: str,
    test_fraction: float = 0.2,
    seed: int = 42,
    min_interactions: int = 2,
    n_last: int = 1,
) -> tuple[DataFrame, DataFrame]:
    """(train, test) of an aggregated frame with ``user``, ``item``, ``timestamp``, ``row``."""
    name = _METHODS.get(str(method).lower())
    if name is None:
        known = ", ".join(sorted(set(_METHODS.values())))
        raise NextBuyError(f"unknown split method {method!r}: expected one of {known}")
    if name != "last" and not 0.0 < test_fraction < 1.0:
        raise NextBuyError(
            f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}"
        )
    if name == "random":
        test = _random(pairs, test_fraction, seed)
    elif name == "user":
        test = _by_user(pairs, test_fraction, seed, min_interactions)
    elif name == "time":
        test = _temporal(pairs, test_fraction)
    else:
        test = _leave_last(pairs, n_last, min_interactions)
    marked = pairs.withColumn("_test", test)
    return marked.where(~marked["_test"]).drop("_test"), marked.where(marked["_test"]).drop("_test")


def _key(seed: int) -> Column:
    """A uniform 62-bit draw per (user, item), the same whatever the partitioning."""
    from pyspark.sql import functions as F

    return F.shiftright(F.xxhash64("user", "item", F.lit(int(seed))), 1)


def kth_smallest(frame: DataFrame, col: str | Column, k: int) -> int:
    """The exact ``k``-th smallest (0-based) value of an integer column.

    Each pass counts the rows in ``_BUCKETS`` equal ranges of the current window (one small
    aggregate to the driver) and keeps the range holding position ``k``; a window of at most
    ``_COLLECT`` rows is collected and sorted. Two or three passes for 62-bit keys.
    """
    from pyspark.sql import functions as F

    values = frame.select((F.col(col) if isinstance(col, str) else col).alias("v"))
    bounds = values.agg(F.min("v"), F.max("v"), F.count("v")).first()
    if bounds is None or not bounds[2] or not 0 <= k < bounds[2]:
        raise DataError(
            f"kth_smallest: position {k} outside the {0 if bounds is None else bounds[2]} values"
        )
    lo, hi, below = int(bounds[0]), int(bounds[1]), 0
    while True:
        window = values.where((F.col("v") >= lo) & (F.col("v") <= hi))
        width = max(1, -(-(hi - lo + 1) // _BUCKETS))
        bucket = F.expr(f"(v - ({lo})) div {width}")
        counts = sorted(window.groupBy(bucket.alias("b")).count().collect())
        n_window = sum(int(c) for _, c in counts)
        if n_window <= _COLLECT or width == 1:
            if width == 1 and n_window > _COLLECT:
                seen = below
                for b, c in counts:
                    if seen + int(c) > k:
                        return lo + int(b)
                    seen += int(c)
            ordered = sorted(int(r[0]) for r in window.collect())
            return ordered[k - below]
        for b, c in counts:
            if below + int(c) > k:
                lo, hi = lo + int(b) * width, min(hi, lo + (int(b) + 1) * width - 1)
                break
            below += int(c)


def _random(pairs: DataFrame, test_fraction: float, seed: int) -> Column:
    """``round(f * n)`` rows with the smallest seeded keys (exact up to 62-bit hash ties)."""
    from pyspark.sql import functions as F

    n = pairs.count()
    n_test = int(round(test_fraction * n))
    if n_test == 0:
        return F.lit(False)
    if n_test >= n:
        return F.lit(True)
    cutoff = kth_smallest(pairs, _key(seed), n_test)
    return _key(seed) < F.lit(cutoff)


def _by_user(pairs: DataFrame, test_fraction: float, seed: int, min_interactions: int) -> Column:
    """Per user, ``clip(floor(f * n_u + 0.5), 1, n_u - 1)`` random rows; small users: none."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    per_user = Window.partitionBy("user")
    n_u = F.count(F.lit(1)).over(per_user)
    n_test = F.least(F.greatest(F.floor(F.lit(test_fraction) * n_u + 0.5), F.lit(1)), n_u - 1)
    n_test = F.when(n_u < max(2, min_interactions), 0).otherwise(n_test)
    rank = F.row_number().over(per_user.orderBy(_key(seed), "item")) - 1
    return rank < n_test


def _temporal(pairs: DataFrame, test_fraction: float) -> Column:
    """Rows at or after the time leaving about ``f`` of the rows after it; train is earlier."""
    from pyspark.sql import functions as F

    stats = pairs.agg(F.min("timestamp"), F.max("timestamp"), F.count(F.lit(1))).first()
    if stats is None or not stats[2]:
        raise DataError("temporal split: no interactions")
    lo, hi, n = int(stats[0]), int(stats[1]), int(stats[2])
    if lo == hi:
        raise DataError(
            "temporal split: every interaction has the same timestamp "
            f"({lo}); the data needs real timestamps, or use a random or per-user split"
        )
    n_test = min(max(int(round(test_fraction * n)), 1), n - 1)
    cutoff = kth_smallest(pairs, "timestamp", n - n_test)
    if cutoff == lo:  # ties at the start would empty train: cut just after them
        later = pairs.where(F.col("timestamp") > lo).agg(F.min("timestamp")).first()
        cutoff = int(later[0]) if later is not None and later[0] is not None else hi + 1
    if cutoff > hi:
        raise DataError(
            f"temporal split: cutoff {cutoff} leaves an empty test set; "
            f"timestamps run from {lo} to {hi}"
        )
    return F.col("timestamp") >= F.lit(cutoff)


def _leave_last(pairs: DataFrame, n_last: int, min_interactions: int) -> Column:
    """Each user's last ``n`` rows by time (ties: the later row); every user keeps one."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if n_last < 1:
        raise NextBuyError(f"leave-last split: n must be at least 1, got {n_last}")
    per_user = Window.partitionBy("user")
    n_u = F.count(F.lit(1)).over(per_user)
    n_test = F.least(F.lit(n_last), F.greatest(n_u - 1, F.lit(0)))
    n_test = F.when(n_u < max(2, min_interactions), 0).otherwise(n_test)
    from_end = F.row_number().over(per_user.orderBy(F.desc("timestamp"), F.desc("row"))) - 1
    return from_end < n_test
