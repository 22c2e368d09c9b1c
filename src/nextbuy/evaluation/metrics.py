"""Vectorized top-K and rating metrics: arrays in, per-user arrays or numbers out.

Conventions shared by the ranking metrics:

- ``recs`` is an int array ``[n_users, K]`` of item indices, best first; ``-1`` pads rows
  with fewer than ``K`` recommendations (a padded slot is never a hit).
- ``truth`` is a CSR ``[n_users, n_items]`` whose stored non-zero entries are the user's
  relevant test items (binary relevance; the stored values are ignored).
- ``k`` truncates to the first ``k`` columns (default: all ``K``); when ``k > K`` the
  missing slots count as empty, so precision still divides by ``k``.
- An item repeated within one row counts once (at its best rank).
- Per-user values are ``NaN`` for users without test items; :func:`user_mean` and
  :func:`ranking_metrics` leave those users out of the averages.

With ``T_u`` the user's test items and ``hit_r`` = 1 when the item at rank ``r`` (1-based) is
in ``T_u``, the denominators follow LensKit and DESIGN section 7 (protocol B).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Order of the ranking metrics in :func:`ranking_metrics` results and reports.
RANKING_METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate", "coverage")
#: Rating metrics, computed from predicted vs. true ratings.
RATING_METRICS = ("rmse", "mae")


# ---------------------------------------------------------------------- membership
def relevance_matrix(truth: sp.spmatrix, n_rows: int | None = None) -> sp.csr_matrix:
    """Canonical binary CSR of ``truth``: duplicates merged, zeros dropped, indices sorted.

    Every metric goes through this once, so callers may pass any sparse format.
    """
    m = sp.csr_matrix(truth, dtype=np.float32, copy=True)
    if n_rows is not None and m.shape[0] != n_rows:
        raise ValueError(f"truth has {m.shape[0]} rows but recs has {n_rows}")
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    m.data[:] = 1.0
    return m


def pairs_in(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Whether each ``(rows[j], cols[j])`` is a stored entry of ``matrix`` (any equal shapes).

    One global binary search: the CSR's entries, encoded as ``row * n_cols + col``, are
    already sorted when its indices are sorted within rows (canonical CSR). Out-of-range
    columns (such as ``-1`` padding) are never members.
    """
    if not matrix.has_canonical_format:
        matrix = matrix.copy()
        matrix.sum_duplicates()
    n_rows, n_cols = matrix.shape
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    valid = (cols >= 0) & (cols < n_cols) & (rows >= 0) & (rows < n_rows)
    if matrix.nnz == 0:
        return np.zeros(np.broadcast(rows, cols).shape, dtype=bool)
    counts = np.diff(matrix.indptr)
    keys = np.repeat(np.arange(n_rows, dtype=np.int64), counts) * n_cols + matrix.indices
    query = np.where(valid, rows * n_cols + cols, -1)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return valid & (keys[pos] == query)


def hit_matrix(recs: np.ndarray, truth: sp.spmatrix, k: int | None = None) -> np.ndarray:
    """Boolean ``[n_users, k]``: ``hit[u, r]`` is True when ``recs[u, r]`` is a test item of ``u``.

    Repeats of an item later in the same row are not hits, so no metric can count one twice.
    """
    recs = _truncate(recs, k)
    rel = relevance_matrix(truth, n_rows=recs.shape[0])
    rows = np.arange(recs.shape[0], dtype=np.int64)[:, None]
    hits = pairs_in(rel, rows, recs)
    return hits & ~_repeats(recs)


def _truncate(recs: np.ndarray, k: int | None) -> np.ndarray:
    """The first ``k`` columns of ``recs`` as int64, padded with -1 when ``K < k``."""
    recs = np.asarray(recs)
    if recs.ndim != 2:
        raise ValueError(f"recs must be 2-D [n_users, K], got shape {recs.shape}")
    if not np.issubdtype(recs.dtype, np.integer):
        raise ValueError(f"recs must hold integer item indices, got dtype {recs.dtype}")
    recs = recs.astype(np.int64, copy=False)
    if k is None:
        return recs
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k <= recs.shape[1]:
        return recs[:, :k]
    return np.pad(recs, ((0, 0), (0, k - recs.shape[1])), constant_values=-1)


def _repeats(recs: np.ndarray) -> np.ndarray:
    """True where a row's item already appeared at a better rank (padding is never a repeat)."""
    if recs.shape[1] < 2:
        return np.zeros(recs.shape, dtype=bool)
    order = np.argsort(recs, axis=1, kind="stable")
    ordered = np.take_along_axis(recs, order, axis=1)
    same = np.zeros(recs.shape, dtype=bool)
    same[:, 1:] = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    out = np.zeros(recs.shape, dtype=bool)
    np.put_along_axis(out, order, same, axis=1)
    return out


# ---------------------------------------------------------------------- per-user kernels
# Private kernels work on a precomputed hit matrix and test-set sizes, so that
# ranking_metrics computes the (costly) membership test once for all metrics.
def _n_relevant(truth: sp.spmatrix, n_rows: int) -> np.ndarray:
    return np.diff(relevance_matrix(truth, n_rows=n_rows).indptr).astype(np.float64)


def _with_nan(values: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    values = values.astype(np.float64, copy=False)
    values[n_rel == 0] = np.nan
    return values


def _precision(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    return _with_nan(hits.sum(axis=1) / hits.shape[1], n_rel)


def _recall(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    denom = np.maximum(np.minimum(hits.shape[1], n_rel), 1)
    return _with_nan(hits.sum(axis=1) / denom, n_rel)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def _ndcg(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    k = hits.shape[1]
    disc = _discounts(k)
    dcg = hits @ disc
    ideal_cum = np.concatenate([[0.0], np.cumsum(disc)])
    idcg = ideal_cum[np.minimum(k, n_rel).astype(np.int64)]
    return _with_nan(dcg / np.maximum(idcg, 1e-12), n_rel)


def _map(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    k = hits.shape[1]
    prec_at_r = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    denom = np.maximum(np.minimum(k, n_rel), 1)
    return _with_nan((prec_at_r * hits).sum(axis=1) / denom, n_rel)


def _mrr(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    any_hit = hits.any(axis=1)
    first = np.argmax(hits, axis=1) + 1
    return _with_nan(np.where(any_hit, 1.0 / first, 0.0), n_rel)


def _hit_rate(hits: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    return _with_nan(np.asarray(hits.any(axis=1), dtype=np.float64), n_rel)


_KERNELS = {
    "precision": _precision,
    "recall": _recall,
    "ndcg": _ndcg,
    "map": _map,
    "mrr": _mrr,
    "hit_rate": _hit_rate,
}


def _per_user(name: str, recs: np.ndarray, truth: sp.spmatrix, k: int | None) -> np.ndarray:
    recs = _truncate(recs, k)
    hits = hit_matrix(recs, truth)
    return _KERNELS[name](hits, _n_relevant(truth, recs.shape[0]))


# ---------------------------------------------------------------------- public ranking metrics
def precision_at_k(recs: np.ndarray, truth: sp.spmatrix, k: int | None = None) -> np.ndarray:
    """Per-user precision: ``P@k = sum_{r<=k} hit_r / k``.

    Denominator: ``k`` for every user, even when fewer than ``k`` items were recommended.
    """
    return _per_user("precision", recs, truth, k)


def recall_at_k(recs: np.ndarray, truth: sp.spmatrix, k: int | None = None) -> np.ndarray:
    """Per-user truncated recall: ``R@k = sum_{r<=k} hit_r / min(k, |T_u|)``.

    Denominator: ``min(k, |T_u|)``, so a perfect list scores 1 even when ``|T_u| > k``.
    """
    return _per_user("recall", recs, truth, k)


def ndcg_at_k(recs: np.ndarray, truth: sp.spmatrix, k: int | None = None) -> np.ndarray:
    """Per-user NDCG with binary gains: ``DCG@k / IDCG@k``.

    ``DCG@k = sum_{r<=k} hit_r / log2(r + 1)``; the ideal ``IDCG@k = sum_{r<=min(k,|T_u|)}
    1 / log2(r + 1)`` places all test items first.
    """
    return _per_user("ndcg", recs, truth, k)


def map_at_k(recs: np.ndarray, truth: sp.spmatrix, k: int | None = None) -> np.ndarray:
    """Per-user average precision: ``AP@k = sum_{r<=k} hit_r * P@r / min(k, |T_u|)``.

    ``P@r`` is the precision of the first ``r`` items; denominator ``min(k, |T_u|)``.
    Averaging over users gives MAP@k.
    """
    return _per_user("map", recs, truth, k)


def mrr_at_k(recs: np.ndarray, truth: sp.spmatrix, k: int | None = None) -> np.ndarray:
    """Per-user reciprocal rank: ``1 / r*`` for the first hit's rank ``r* <= k``, else 0.

    Denominator: none (the rank itself); averaging over users gives MRR@k.
    """
    return _per_user("mrr", recs, truth, k)


def hit_rate_at_k(recs: np.ndarray, truth: sp.spmatrix, k: int | None = None) -> np.ndarray:
    """Per-user hit indicator: 1 when any of the top ``k`` is a test item, else 0.

    Averaging over users gives the share of users with at least one hit.
    """
    return _per_user("hit_rate", recs, truth, k)


def catalog_coverage(recs: np.ndarray, n_items: int, k: int | None = None) -> float:
    """Share of the catalog recommended to anyone: ``|union_u top_k(u)| / n_items``.

    Denominator: ``n_items`` (the whole catalog). Padding and out-of-range ids are ignored;
    all rows of ``recs`` count, whether or not the user has test items.
    """
    if n_items <= 0:
        return float("nan")
    recs = _truncate(recs, k)
    ids = recs[(recs >= 0) & (recs < n_items)]
    return float(np.unique(ids).size / n_items)


def user_mean(values: np.ndarray) -> float:
    """Mean over users with a defined value (NaN = no test items); NaN when there are none."""
    values = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(values)
    return float(values[ok].mean()) if ok.any() else float("nan")


def per_user_metrics(
    recs: np.ndarray, truth: sp.spmatrix, k: int | None = None
) -> dict[str, np.ndarray]:
    """Every per-user ranking metric (``precision`` … ``hit_rate``), from one membership test."""
    recs = _truncate(recs, k)
    rel = relevance_matrix(truth, n_rows=recs.shape[0])
    hits = hit_matrix(recs, rel)
    n_rel = np.diff(rel.indptr).astype(np.float64)
    return {name: kernel(hits, n_rel) for name, kernel in _KERNELS.items()}


def ranking_metrics(
    recs: np.ndarray, truth: sp.spmatrix, k: int | None = None, n_items: int | None = None
) -> dict[str, float]:
    """User-averaged ranking metrics labelled ``"precision@k"`` … ``"coverage@k"``.

    Averages leave out users without test items. Coverage divides by ``n_items`` (default:
    ``truth``'s column count) and counts every row of ``recs``.
    """
    recs = _truncate(recs, k)
    k = recs.shape[1]
    per_user = per_user_metrics(recs, truth)
    out = {f"{name}@{k}": user_mean(values) for name, values in per_user.items()}
    n_items = truth.shape[1] if n_items is None else n_items
    out[f"coverage@{k}"] = catalog_coverage(recs, n_items)
    return out


# ---------------------------------------------------------------------- rating metrics
def _rating_arrays(predicted: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predicted, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    if p.shape != a.shape:
        raise ValueError(f"predicted has {p.size} values but actual has {a.size}")
    return p, a


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error: ``sqrt(sum (p_j - a_j)^2 / n)`` over all ``n`` pairs.

    NaN predictions propagate (drop them first, as :func:`evaluate_ratings` does); NaN for n=0.
    """
    p, a = _rating_arrays(predicted, actual)
    return float(np.sqrt(np.mean((p - a) ** 2))) if p.size else float("nan")


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error: ``sum |p_j - a_j| / n`` over all ``n`` pairs; NaN for n=0."""
    p, a = _rating_arrays(predicted, actual)
    return float(np.mean(np.abs(p - a))) if p.size else float("nan")
