"""RP3beta: the contract, plus the similarity against a dense hand computation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from contract import RecommenderContract

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models import registry, rp3beta
from nextbuy.models.base import Recommender


class TestRP3beta(RecommenderContract):
    def make_model(self) -> Recommender:
        return registry.create("rp3beta", neighbors=5)


X = np.array(
    [[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 1, 0], [0, 0, 1, 1]], dtype=np.float64
)


def dense_rp3(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    p_ui = x / x.sum(1, keepdims=True)
    p_iu = x.T / x.sum(0)[:, None]
    w = (p_iu**alpha) @ (p_ui**alpha) / x.sum(0)[None, :] ** beta
    np.fill_diagonal(w, 0)
    return w


@pytest.mark.parametrize("normalize", [False, True])
def test_weights_match_dense_formula(normalize: bool) -> None:
    model = registry.create("rp3beta", alpha=0.7, beta=0.3, neighbors=10, normalize=normalize)
    model.fit(Interactions.from_csr(X))
    want = dense_rp3(X, 0.7, 0.3)
    if normalize:
        want = want / want.sum(1, keepdims=True)
    np.testing.assert_allclose(model.similarity_.toarray(), want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.score(np.arange(5)), X @ want, rtol=1e-5, atol=1e-6)


def test_blocks_and_pruning_keep_the_top_neighbours(monkeypatch) -> None:
    rng = np.random.default_rng(1)
    x = sp.random(80, 30, density=0.25, random_state=rng, format="csr")
    x.data[:] = 1.0
    x = x[np.diff(x.indptr) > 0]
    full = rp3beta.rp3beta_weights(x, 0.8, 0.4, neighbors=29, normalize=False).toarray()
    monkeypatch.setattr(rp3beta, "_BLOCK_ENTRIES", 60)  # two rows per block
    pruned = rp3beta.rp3beta_weights(x, 0.8, 0.4, neighbors=4, normalize=False).toarray()
    assert ((pruned > 0).sum(1) <= 4).all()
    for row_full, row in zip(full, pruned, strict=True):
        kept = np.flatnonzero(row)
        np.testing.assert_allclose(row[kept], row_full[kept], rtol=1e-6)
        assert row_full[kept].min() >= np.sort(row_full)[-4] - 1e-7


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="neighbors"):
        registry.create("rp3beta", neighbors=0).fit(Interactions.from_csr(X))
