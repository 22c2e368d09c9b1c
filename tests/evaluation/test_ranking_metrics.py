"""Metrics: hand-computed cases and a brute-force per-user reference on random data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from nextbuy.evaluation import metrics as M


def _truth(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.array([i for r in rows for i in r], dtype=np.int32)
    return sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), n_items))


# ---------------------------------------------------------------------- hand-computed cases
def test_hits_at_ranks_1_and_3_with_two_test_items() -> None:
    recs = np.array([[4, 7, 2, 9, 8, 6, 5, 3, 1, 0]])
    truth = _truth([[2, 4]], n_items=12)
    assert M.hit_matrix(recs, truth)[0, :4].tolist() == [True, False, True, False]
    idcg = 1 + 1 / math.log2(3)
    assert M.ndcg_at_k(recs, truth)[0] == pytest.approx((1 + 1 / math.log2(4)) / idcg)
    assert M.ndcg_at_k(recs, truth)[0] == pytest.approx(0.919721, abs=1e-6)
    assert M.precision_at_k(recs, truth)[0] == pytest.approx(0.2)
    assert M.precision_at_k(recs, truth, k=3)[0] == pytest.approx(2 / 3)
    assert M.recall_at_k(recs, truth)[0] == pytest.approx(1.0)
    assert M.recall_at_k(recs, truth, k=1)[0] == pytest.approx(1.0)  # min(1, 2) = 1
    assert M.recall_at_k(recs, truth, k=2)[0] == pytest.approx(0.5)
    assert M.map_at_k(recs, truth)[0] == pytest.approx((1 + 2 / 3) / 2)
    assert M.mrr_at_k(recs, truth)[0] == pytest.approx(1.0)
    assert M.hit_rate_at_k(recs, truth)[0] == 1.0


def test_first_hit_at_rank_4_and_truncated_denominators() -> None:
    # 15 test items, K = 10: recall and MAP divide by min(10, 15) = 10
    recs = np.array([[20, 21, 22, 0, 1, 23, 2, 24, 25, 26]])
    truth = _truth([list(range(15))], n_items=30)
    assert M.mrr_at_k(recs, truth)[0] == pytest.approx(0.25)
    assert M.recall_at_k(recs, truth)[0] == pytest.approx(3 / 10)
    assert M.precision_at_k(recs, truth)[0] == pytest.approx(3 / 10)
    assert M.map_at_k(recs, truth)[0] == pytest.approx((1 / 4 + 2 / 5 + 3 / 7) / 10)
    dcg = 1 / math.log2(5) + 1 / math.log2(6) + 1 / math.log2(8)
    idcg = sum(1 / math.log2(r + 1) for r in range(1, 11))
    assert M.ndcg_at_k(recs, truth)[0] == pytest.approx(dcg / idcg)
    assert M.hit_rate_at_k(recs, truth, k=3)[0] == 0.0
    assert M.mrr_at_k(recs, truth, k=3)[0] == 0.0


def test_padding_repeats_and_users_without_test_items() -> None:
    recs = np.array(
        [
            [3, 3, -1, -1],  # a repeated hit counts once; padding is never a hit
            [0, 1, 2, 3],  # this user has no test items: NaN, left out of means
            [-1, -1, -1, -1],  # nothing recommended
        ]
    )
    truth = _truth([[3], [], [1]], n_items=5)
    p = M.precision_at_k(recs, truth)
    assert p[0] == pytest.approx(0.25) and math.isnan(p[1]) and p[2] == 0.0
    assert M.user_mean(p) == pytest.approx(0.125)
    assert M.map_at_k(recs, truth)[0] == pytest.approx(1.0)
    assert M.ndcg_at_k(recs, truth)[0] == pytest.approx(1.0)
    means = M.ranking_metrics(recs, truth)
    assert means["precision@4"] == pytest.approx(0.125)
    assert means["recall@4"] == pytest.approx(0.5)
    assert means["hit_rate@4"] == pytest.approx(0.5)
    assert means["coverage@4"] == pytest.approx(4 / 5)  # items 0..3, every row counts
    assert math.isnan(M.user_mean(np.array([np.nan, np.nan])))


def test_k_larger_than_list_divides_precision_by_k() -> None:
    recs = np.array([[1, 2]])
    truth = _truth([[1]], n_items=4)
    assert M.precision_at_k(recs, truth, k=5)[0] == pytest.approx(0.2)
    assert M.ranking_metrics(recs, truth, k=5)["recall@5"] == pytest.approx(1.0)


def test_coverage_ignores_padding_and_out_of_range() -> None:
    recs = np.array([[0, 1, -1], [1, 9, 2]])
    assert M.catalog_coverage(recs, n_items=5) == pytest.approx(3 / 5)
    assert M.catalog_coverage(recs, n_items=5, k=1) == pytest.approx(2 / 5)


def test_rating_metrics() -> None:
    pred = np.array([3.0, 4.0, 5.0, 1.0])
    true = np.array([4.0, 4.0, 3.0, 1.0])
    assert M.rmse(pred, true) == pytest.approx(math.sqrt((1 + 0 + 4 + 0) / 4))
    assert M.mae(pred, true) == pytest.approx(3 / 4)
    assert math.isnan(M.rmse(np.array([]), np.array([])))
    with pytest.raises(ValueError, match="predicted has 1"):
        M.mae(np.array([1.0]), true)


def test_bad_inputs_name_the_problem() -> None:
    truth = _truth([[1]], n_items=4)
    with pytest.raises(ValueError, match="2 rows but recs has 1"):
        M.precision_at_k(np.array([[1]]), _truth([[1], [2]], 4))
    with pytest.raises(ValueError, match="2-D"):
        M.precision_at_k(np.array([1, 2]), truth)
    with pytest.raises(ValueError, match="integer"):
        M.precision_at_k(np.array([[1.0]]), truth)
    with pytest.raises(ValueError, match="k must be"):
        M.precision_at_k(np.array([[1]]), truth, k=0)


def test_pairs_in_matches_dense_lookup() -> None:
    rng = np.random.default_rng(3)
    m = sp.random(50, 40, density=0.1, format="csr", random_state=4)
    rows, cols = rng.integers(0, 50, 500), rng.integers(-2, 42, 500)
    dense = m.toarray() != 0
    ok = (cols >= 0) & (cols < 40)
    expected = np.zeros(500, dtype=bool)
    expected[ok] = dense[rows[ok], cols[ok]]
    assert np.array_equal(M.pairs_in(m, rows, cols), expected)
    assert not M.pairs_in(sp.csr_matrix((3, 3)), np.array([0]), np.array([0])).any()


# ---------------------------------------------------------------------- brute-force reference
def _reference(recs: np.ndarray, truth: sp.csr_matrix, k: int) -> dict[str, list[float]]:
    """Textbook per-user loop, written independently of the vectorized code."""
    out: dict[str, list[float]] = {n: [] for n in ("precision", "recall", "ndcg", "map", "mrr")}
    out["hit_rate"] = []
    for u in range(recs.shape[0]):
        test = set(truth.indices[truth.indptr[u] : truth.indptr[u + 1]].tolist())
        if not test:
            for values in out.values():
                values.append(float("nan"))
            continue
        seen: set[int] = set()
        hits = []
        for item in list(recs[u, :k]) + [-1] * max(0, k - recs.shape[1]):
            hits.append(item in test and item not in seen)
            seen.add(item)
        n_hits = sum(hits)
        denom = min(k, len(test))
        dcg = sum(1 / math.log2(r + 2) for r, h in enumerate(hits) if h)
        idcg = sum(1 / math.log2(r + 2) for r in range(denom))
        ap = sum(sum(hits[: r + 1]) / (r + 1) for r, h in enumerate(hits) if h) / denom
        first = next((r + 1 for r, h in enumerate(hits) if h), None)
        out["precision"].append(n_hits / k)
        out["recall"].append(n_hits / denom)
        out["ndcg"].append(dcg / idcg)
        out["map"].append(ap)
        out["mrr"].append(0.0 if first is None else 1 / first)
        out["hit_rate"].append(float(n_hits > 0))
    return out


@pytest.mark.parametrize("k", [1, 5, 10, 13])
def test_vectorized_metrics_match_reference(k: int) -> None:
    rng = np.random.default_rng(k)
    n_users, n_items, width = 300, 40, 10
    recs = rng.integers(0, n_items, size=(n_users, width))  # repeats happen, on purpose
    recs[rng.random((n_users, width)) < 0.1] = -1
    dense = rng.random((n_users, n_items)) < rng.uniform(0, 0.3, size=(n_users, 1))
    truth = sp.csr_matrix(dense.astype(np.float32))
    assert (np.diff(truth.indptr) == 0).any()  # some users have no test items

    expected = _reference(recs, truth, k)
    got = M.per_user_metrics(recs, truth, k=k)
    for name, values in expected.items():
        np.testing.assert_allclose(got[name], values, rtol=1e-12, err_msg=name)
    # the public one-metric functions agree with the shared path
    np.testing.assert_allclose(M.ndcg_at_k(recs, truth, k), expected["ndcg"], rtol=1e-12)
    np.testing.assert_allclose(M.map_at_k(recs, truth, k), expected["map"], rtol=1e-12)

    means = M.ranking_metrics(recs, truth, k=k)
    for name, values in expected.items():
        assert means[f"{name}@{k}"] == pytest.approx(np.nanmean(values), rel=1e-12)
    flat = {int(i) for i in recs[:, :k].ravel() if i >= 0}
    assert means[f"coverage@{k}"] == pytest.approx(len(flat) / n_items)


def test_truth_format_and_stored_values_do_not_matter() -> None:
    rng = np.random.default_rng(0)
    recs = rng.integers(0, 20, size=(30, 5))
    truth = sp.random(30, 20, density=0.2, format="coo", random_state=1)
    truth.data *= 5.0  # ratings, not ones
    unsorted = sp.csr_matrix(truth)
    unsorted.indices = unsorted.indices.copy()
    for u in range(30):  # reverse the column order inside every row
        lo, hi = unsorted.indptr[u], unsorted.indptr[u + 1]
        unsorted.indices[lo:hi] = unsorted.indices[lo:hi][::-1].copy()
        unsorted.data[lo:hi] = unsorted.data[lo:hi][::-1].copy()
    unsorted.has_sorted_indices = False
    a = M.ranking_metrics(recs, truth)
    b = M.ranking_metrics(recs, unsorted)
    c = M.ranking_metrics(recs, sp.csr_matrix((truth.toarray() != 0).astype(np.float32)))
    assert a == b == c
