"""Item kNN: the contract, plus similarities against hand-computed cosines and pruning."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from contract import RecommenderContract

from nextbuy.data.interactions import Interactions
from nextbuy.models import knn, registry
from nextbuy.models.base import Recommender


class TestItemKNN(RecommenderContract):
    def make_model(self) -> Recommender:
        return registry.create("itemknn", neighbors=5)


X = np.array(
    [[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 1, 0], [0, 0, 1, 1]], dtype=np.float64
)


def cosine(x: np.ndarray, shrink: float = 0.0) -> np.ndarray:
    norms = np.linalg.norm(x, axis=0)
    sims = (x.T @ x) / (np.outer(norms, norms) + shrink)
    np.fill_diagonal(sims, 0)
    return sims


def test_similarity_is_cosine() -> None:
    plain = {"shrinkage": 0.0, "weighting": "binary"}
    model = registry.create("itemknn", neighbors=10, **plain).fit(Interactions.from_csr(X))
    np.testing.assert_allclose(model.similarity_.toarray(), cosine(X), atol=1e-6)
    # items 0 and 1 share users 0 and 3: 2 / (sqrt(3) * sqrt(3))
    assert abs(model.similarity_[0, 1] - 2 / 3) < 1e-6
    np.testing.assert_allclose(model.score([0, 2]), X[[0, 2]] @ cosine(X), atol=1e-5)


def test_shrinkage_and_weighting() -> None:
    counts = X * np.array([[2], [1], [3], [1], [1]])
    model = registry.create("itemknn", neighbors=10, shrinkage=4.0, weighting="linear").fit(
        Interactions.from_csr(counts)
    )
    weighted = np.where(counts > 0, 1 + counts, 0)
    np.testing.assert_allclose(model.similarity_.toarray(), cosine(weighted, 4.0), atol=1e-6)


def test_keeps_top_k_per_row() -> None:
    rng = np.random.default_rng(0)
    x = sp.random(300, 80, density=0.1, random_state=rng, format="csr", dtype=np.float32)
    x.data[:] = 1.0
    model = registry.create("itemknn", neighbors=7, shrinkage=0.0).fit(Interactions.from_csr(x))
    full = cosine(x.toarray().astype(np.float64))
    sim = model.similarity_
    assert (np.diff(sim.indptr) <= 7).all()
    for i in (0, 17, 79):
        kept = sim[i].toarray().ravel()
        expected = np.sort(full[i])[::-1][:7]
        np.testing.assert_allclose(np.sort(kept[kept > 0])[::-1], expected[expected > 0], atol=1e-5)


def test_blocked_computation_matches_single_block(monkeypatch) -> None:
    x = sp.random(200, 60, density=0.1, random_state=1, format="csr", dtype=np.float32)
    whole = knn.cosine_topk(x, 5)
    monkeypatch.setattr(knn, "_BLOCK_ENTRIES", 60 * 7)  # blocks of 7 rows
    blocked = knn.cosine_topk(x, 5)
    np.testing.assert_allclose(blocked.toarray(), whole.toarray(), atol=1e-6)


def test_scales_to_many_items() -> None:
    rng = np.random.default_rng(2)
    nnz = 100_000
    x = sp.csr_matrix(
        (np.ones(nnz, np.float32), (rng.integers(0, 5000, nnz), rng.integers(0, 20_000, nnz))),
        shape=(5000, 20_000),
    )
    x.data[:] = 1.0
    train = Interactions.from_csr(x)
    started = time.perf_counter()
    model = registry.create("itemknn", neighbors=50).fit(train)
    assert time.perf_counter() - started < 10
    assert model.similarity_.shape == (20_000, 20_000)
    assert (np.diff(model.similarity_.indptr) <= 50).all()
    ids, _ = model.recommend(np.arange(100), k=10)
    assert (ids >= 0).all()
