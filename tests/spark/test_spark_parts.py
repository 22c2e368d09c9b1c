"""The Spark pieces against their in-process definitions: reading and aggregation, splits,
fold-in, metrics, held-out evaluation and batch scoring give NextBuy's answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from nextbuy.artifacts import load_artifact, save_artifact
from nextbuy.data.interactions import Interactions
from nextbuy.data.sources import ColumnMap
from nextbuy.data.split import split as local_split
from nextbuy.evaluation import evaluate
from nextbuy.evaluation.metrics import mae, ranking_metrics, rmse
from nextbuy.models import registry
from nextbuy.models.foldin import ridge_fold_in
from nextbuy.spark.io import collect_interactions, collect_map, index_log, read_log
from nextbuy.spark.split import kth_smallest
from nextbuy.spark.split import split as spark_split
from tests.spark.conftest import SparkShop

pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas", "ignore:The copy keyword is deprecated"
)
FAST = {"factors": 8, "iterations": 6, "num_user_blocks": 2, "num_item_blocks": 2}


@pytest.fixture(scope="module")
def indexed(spark, spark_shop: SparkShop):
    """The renamed shop read, indexed and aggregated by Spark."""
    return index_log(read_log(spark, spark_shop.data))


def _local(indexed, spark_shop: SparkShop) -> Interactions:
    """Spark's aggregated pairs, collected on Spark's maps."""
    users = collect_map(indexed.users, "user_id", "user", indexed.n_users)
    items = collect_map(indexed.items, "item_id", "item", indexed.n_items)
    return collect_interactions(indexed.pairs, users, items, explicit=False)


def test_parquet_parts_and_csv_aggregate_like_interactions(
    spark, spark_shop: SparkShop, indexed, tmp_path: Path
):
    local = Interactions.from_frame(spark_shop.events)
    mine = _local(indexed, spark_shop)
    assert mine.user_map == local.user_map and mine.item_map == local.item_map
    assert (mine.csr != local.csr).nnz == 0  # same pairs, duplicates summed
    # a folder of Parquet part files (a data lake's output), integer-looking IDs as strings
    parts = tmp_path / "lake"
    parts.mkdir()
    frame = spark_shop.events
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), 3)):
        pq.write_table(pa.Table.from_pandas(frame.iloc[chunk], preserve_index=False),
                       parts / f"part-{i:05d}.parquet")  # fmt: skip
    again = index_log(read_log(spark, parts))
    assert (again.n_users, again.n_items) == local.shape
    assert (_local(again, spark_shop).csr != local.csr).nnz == 0


def test_explicit_duplicates_keep_the_latest_rating(spark, tmp_path: Path):
    path = tmp_path / "ratings.csv"
    pd.DataFrame(
        {"user_id": ["007", "7", "007", "007"], "item_id": ["a", "a", "a", "b"],
         "rating": [1, 4, 5, 3], "timestamp": [10, 10, 30, 20]}
    ).to_csv(path, index=False)  # fmt: skip
    log = read_log(spark, path, ColumnMap())
    assert log.explicit
    got = index_log(log).pairs.orderBy("user", "item").select("user", "item", "value").collect()
    # users sorted as strings: "007" (0) < "7" (1); "007" rated "a" 1 then 5 -> 5
    assert [tuple(r) for r in got] == [(0, 0, 5.0), (0, 1, 3.0), (1, 0, 4.0)]


def test_splits_follow_the_in_process_definitions(spark, spark_shop: SparkShop, indexed):
    local = _local(indexed, spark_shop)
    pairs = indexed.pairs
    n = len(local)
    _, test = spark_split(pairs, "random", 0.2, seed=3)
    assert test.count() == int(round(0.2 * n))
    # per user: floor(0.2 n_u + 0.5) clipped to [1, n_u - 1], users with one row keep it
    _, test = spark_split(pairs, "user", 0.2, seed=3)
    got = test.groupBy("user").count().toPandas().set_index("user")["count"]
    counts = np.bincount(local.users, minlength=local.n_users)
    want = np.clip(np.floor(0.2 * counts + 0.5), 1, np.maximum(counts - 1, 0))
    want[counts < 2] = 0
    got_all = np.zeros(local.n_users)
    got_all[got.index.to_numpy()] = got.to_numpy()
    assert np.array_equal(got_all, want)
    # temporal and leave-last: the very same test rows as nextbuy.data.split
    for method in ("time", "last"):
        _, test = spark_split(pairs, method, 0.2)
        mine = {(r.user, r.item) for r in test.select("user", "item").collect()}
        _, ref = local_split(local, method, 0.2)
        assert mine == set(zip(ref.users.tolist(), ref.items.tolist(), strict=True)), method


def test_kth_smallest_is_exact(spark):
    rng = np.random.default_rng(0)
    values = rng.integers(-(2**62), 2**62, 5000).tolist() + [7] * 300
    frame = spark.createDataFrame([(int(v),) for v in values], "v long")
    ordered = np.sort(np.array(values, dtype=np.int64))
    for k in (0, 17, 2500, 5299):
        assert kth_smallest(frame, "v", k) == ordered[k]


def test_fold_in_is_sparks_own_solve(spark, shop_dir: Path):
    """Re-solving trained users against the final item factors gives Spark's user factors
    (its last half-sweep); implicit's unscaled regularisation would not."""
    frame = pd.read_csv(shop_dir / "interactions.csv", dtype={"user_id": str, "item_id": str})
    train = Interactions.from_frame(frame)
    model = registry.create("spark_als", **FAST).fit(train)
    users = np.arange(50)
    again = model.recalculate_user(train.csr[users])
    np.testing.assert_allclose(again, model.user_factors_[users], atol=2e-5)
    conf = train.csr[users].copy()
    conf.data = 1.0 + model.params["alpha"] * conf.data
    v = np.asarray(model.item_factors_, dtype=np.float64)
    reg = model.params["regularization"]  # implicit's penalty: not scaled by the row's count
    unscaled = ridge_fold_in(conf, v, conf.data - 1.0, conf.data, reg, base_gram=v.T @ v)
    assert np.abs(unscaled - model.user_factors_[users]).max() > 1e-3
    # explicit ratings: plain ridge with the count-scaled penalty
    ratings = pd.read_csv(shop_dir / "ratings.csv", dtype={"user_id": str, "item_id": str})
    ratings = ratings.rename(columns={"rating": "value"})
    rated = Interactions.from_frame(ratings, explicit=True)
    explicit = registry.create("spark_als_explicit", **FAST).fit(rated)
    again = explicit.recalculate_user(rated.csr[users])
    np.testing.assert_allclose(again, explicit.user_factors_[users], atol=2e-5)
    pred = explicit.predict(np.array([0, 1, -1]), np.array([0, 1, 2]))
    lo, hi = rated.rating_range
    assert np.all((pred >= lo) & (pred <= hi))


def test_spark_metrics_equal_nextbuys_on_the_same_predictions(spark):
    from nextbuy.spark.evaluate import ranking_metrics_spark, rating_metrics_spark

    rng = np.random.default_rng(1)
    n_users, n_items, k = 60, 40, 10
    recs = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)]).astype(np.int64)
    recs[3, 7:] = -1  # short list
    recs[4, 5] = recs[4, 2]  # a repeat counts once, at its best rank
    dense = (rng.random((n_users, n_items)) < 0.15).astype(np.float32)
    dense[5] = 0  # a user without test items is left out
    truth = sp.csr_matrix(dense)
    rows, cols = np.nonzero(recs >= 0)
    rec_df = spark.createDataFrame(
        pd.DataFrame({"user": rows.astype(np.int32), "rank": (cols + 1).astype(np.int32),
                      "item": recs[rows, cols].astype(np.int32)}),
    )  # fmt: skip
    t = truth.tocoo()
    truth_df = spark.createDataFrame(
        pd.DataFrame({"user": t.row.astype(np.int32), "item": t.col.astype(np.int32)})
    )
    ours = ranking_metrics(recs, truth, k=k, n_items=n_items)
    theirs = ranking_metrics_spark(rec_df, truth_df, k, n_items)
    # coverage counts every row of recs; Spark sees the rows of users with test items too
    users = np.flatnonzero(np.diff(truth.indptr))
    ours["coverage@10"] = ranking_metrics(recs[users], truth[users], k=k, n_items=n_items)[
        "coverage@10"
    ]
    rec_df = rec_df.where(rec_df.user.isin([int(u) for u in users]))
    theirs["coverage@10"] = ranking_metrics_spark(rec_df, truth_df, k, n_items)["coverage@10"]
    assert theirs == pytest.approx(ours, rel=1e-12)
    pred, actual = rng.random(200) * 4 + 1, rng.integers(1, 6, 200).astype(float)
    frame = spark.createDataFrame(pd.DataFrame({"prediction": pred, "value": actual}))
    assert rating_metrics_spark(frame) == pytest.approx(
        {"rmse": rmse(pred, actual), "mae": mae(pred, actual)}, rel=1e-12
    )


def test_held_out_evaluation_in_spark_equals_nextbuys(spark, spark_shop: SparkShop, indexed):
    from pyspark.ml.recommendation import ALSModel

    from nextbuy.spark.evaluate import evaluate_spark
    from nextbuy.spark.train import factors_array, fit_als

    train_df, test_df = spark_split(indexed.pairs, "user", 0.2, seed=42)
    model = registry.create("spark_als", **FAST)
    als: ALSModel = fit_als(train_df, model.params, explicit=False)
    users = collect_map(indexed.users, "user_id", "user", indexed.n_users)
    items = collect_map(indexed.items, "item_id", "item", indexed.n_items)
    train = collect_interactions(train_df, users, items, explicit=False)
    test = collect_interactions(test_df, users, items, explicit=False)
    model.set_factors(
        factors_array(als.userFactors, indexed.n_users, 8),
        factors_array(als.itemFactors, indexed.n_items, 8),
        train,
    )
    results = evaluate_spark(model, als, train_df, test_df, indexed.n_items, k=10)
    reference = evaluate(model, train, test, k=10)
    assert results[0].n_users == reference.n_users
    assert results[0].metrics == pytest.approx(reference.metrics, rel=1e-6)
    popularity = evaluate(registry.create("popularity").fit(train), train, test, k=10)
    assert results[1].metrics == pytest.approx(popularity.metrics, rel=1e-6)


@pytest.mark.parametrize("source", ["spark_als", "als", "mf"])
def test_batch_matches_the_in_process_batch(
    spark, spark_shop: SparkShop, shop_dir: Path, tmp_path: Path, source: str
):
    """Any factor model's artifact: same top-k as ``model.recommend``, seen items excluded."""
    from nextbuy.spark.batch import batch_spark
    from nextbuy.spark.session import SparkOptions

    if source == "spark_als":
        model_dir = spark_shop.models / "shop"
    else:
        explicit = source == "mf"
        name = "ratings.csv" if explicit else "interactions.csv"
        frame = pd.read_csv(shop_dir / name, dtype={"user_id": str, "item_id": str})
        frame = frame.rename(columns={"rating": "value"})
        train = Interactions.from_frame(frame, explicit=explicit)
        params = {"factors": 8, "iterations": 3} if source == "als" else {"epochs": 3}
        fitted = registry.create(source, **params).fit(train)
        save_artifact(fitted, train, tmp_path / "models", source)
        model_dir = tmp_path / "models" / source
    art = load_artifact(model_dir)
    result = batch_spark(model_dir, tmp_path / "recs", SparkOptions(master="local[2]"), k=7)
    got = pd.read_parquet(tmp_path / "recs").sort_values(["user_id", "rank"])
    ids, scores = art.model.recommend(np.arange(len(art.user_map)), k=7, exclude=art.seen)
    valid = ids >= 0
    want = pd.DataFrame(
        {"user_id": np.repeat(art.user_map.ids, 7)[valid.ravel()],
         "rank": np.tile(np.arange(1, 8), len(ids))[valid.ravel()],
         "item_id": art.item_map.to_ids(ids[valid]), "score": scores[valid]}
    ).sort_values(["user_id", "rank"])  # fmt: skip
    assert result.n_rows == len(want) == len(got)
    assert (got["item_id"].to_numpy() == want["item_id"].to_numpy()).mean() > 0.999
    np.testing.assert_allclose(got["score"].to_numpy(), want["score"].to_numpy(), rtol=1e-4)
    users = art.user_map.index(got["user_id"].to_numpy())
    items = art.item_map.index(got["item_id"].to_numpy())
    assert not np.asarray(art.seen[users, items]).any()  # never a seen item
