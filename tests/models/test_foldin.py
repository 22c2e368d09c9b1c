"""Batched ridge fold-in and input weighting, against per-row numpy references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from nextbuy.errors import ConfigError
from nextbuy.models import foldin
from nextbuy.models.weighting import weigh_rows


def reference(rows, vectors, weights, targets, reg, base):
    """One explicit solve per row (loops are fine in a test)."""
    n, f = rows.shape[0], vectors.shape[1]
    reg = np.broadcast_to(
        np.asarray(reg, dtype=np.float64).reshape(-1, 1)
        if np.ndim(reg) == 1
        else np.asarray(reg, dtype=np.float64),
        (n, f),
    )
    out = np.zeros((n, f))
    for u in range(n):
        lo, hi = rows.indptr[u], rows.indptr[u + 1]
        v = vectors[rows.indices[lo:hi]]
        a = base + np.diag(reg[u]) + (v * weights[lo:hi, None]).T @ v
        out[u] = np.linalg.solve(a, v.T @ targets[lo:hi])
    return out


@pytest.mark.parametrize("budget", [1 << 23, 50])  # 50 entries: slices split users
def test_ridge_fold_in_matches_per_row_solves(monkeypatch, budget: int) -> None:
    monkeypatch.setattr(foldin, "_ENTRY_BUDGET", budget * 9)
    monkeypatch.setattr(foldin, "_USER_CHUNK", 7)
    rng = np.random.default_rng(0)
    rows = sp.random(25, 40, density=0.2, random_state=rng, format="csr")
    # row 3 emptied: solved against the base Gram and regularisation only
    rows = sp.csr_matrix(sp.diags((np.arange(25) != 3).astype(float)) @ rows)
    rows.eliminate_zeros()
    vectors = rng.normal(size=(40, 3))
    weights = rng.random(rows.nnz) * 3
    targets = rng.normal(size=rows.nnz)
    base = vectors.T @ vectors
    for reg in (0.5, rng.random(25) + 0.1, rng.random((25, 3)) + 0.1):
        got = foldin.ridge_fold_in(rows, vectors, weights, targets, reg, base_gram=base)
        want = reference(rows, vectors, weights, targets, reg, base)
        assert got.dtype == np.float32 and got.shape == (25, 3)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert np.allclose(got[3], 0)


def test_weigh_rows() -> None:
    m = sp.csr_matrix(np.array([[0, 2, -1], [3, 0, 0]], dtype=np.float32))
    np.testing.assert_allclose(weigh_rows(m, "binary").toarray(), [[0, 1, 1], [1, 0, 0]])
    np.testing.assert_allclose(weigh_rows(m, "linear", 2).toarray(), [[0, 5, 1], [7, 0, 0]])
    np.testing.assert_allclose(
        weigh_rows(m, "log", 1).toarray(), [[0, 1 + np.log(3), 1], [1 + np.log(4), 0, 0]]
    )
    assert m[0, 1] == 2  # the input is not modified
    with pytest.raises(ConfigError, match="weighting"):
        weigh_rows(m, "sqrt")
