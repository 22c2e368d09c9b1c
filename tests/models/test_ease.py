"""EASE: the contract, plus the closed form against a direct numpy computation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from contract import RecommenderContract

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models import ease, registry
from nextbuy.models.base import Recommender


class TestEASE(RecommenderContract):
    def make_model(self) -> Recommender:
        return registry.create("ease", regularization=1.0)


X = np.array(
    [[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1], [1, 1, 1, 0], [0, 0, 1, 1]], dtype=np.float64
)


def test_closed_form_matches_numpy() -> None:
    lam = 2.5
    model = registry.create("ease", regularization=lam, dropout=0.0).fit(Interactions.from_csr(X))
    p = np.linalg.inv(X.T @ X + lam * np.eye(4))
    b = np.eye(4) - p / np.diag(p)[None, :]
    np.testing.assert_allclose(model.weights_, b, atol=1e-6)
    assert np.allclose(np.diag(model.weights_), 0)
    np.testing.assert_allclose(model.score(np.arange(5)), X @ b, atol=1e-5)


def test_weighting_uses_values() -> None:
    counts = X * np.array([[1], [3], [1], [2], [1]])
    binary = registry.create("ease").fit(Interactions.from_csr(counts))
    linear = registry.create("ease", weighting="linear", alpha=1.0).fit(
        Interactions.from_csr(counts)
    )
    assert not np.allclose(binary.weights_, linear.weights_)
    # scoring applies the fit-time weighting to the given rows
    row = sp.csr_matrix(counts[1:2])
    np.testing.assert_allclose(
        linear.score([1]), linear.score([-1], row, recalculate_user=True), rtol=1e-6
    )


def test_new_user_scored_from_history_rows() -> None:
    model = registry.create("ease", regularization=1.0).fit(Interactions.from_csr(X))
    rows = sp.csr_matrix(X[[2, 0]])
    np.testing.assert_allclose(
        model.score([-1, -1], rows, recalculate_user=True), model.score([2, 0]), rtol=1e-6
    )


def test_too_many_items_is_config_error() -> None:
    wide = Interactions.from_csr(sp.csr_matrix(np.eye(3, 50)))
    with pytest.raises(ConfigError, match="max_items"):
        registry.create("ease", max_items=40).fit(wide)


def test_blockwise_steps_match_direct_inverse(monkeypatch) -> None:
    rng = np.random.default_rng(4)
    x = sp.random(60, 25, density=0.3, random_state=rng, format="csr")
    x.data[:] = 1.0
    monkeypatch.setattr(ease, "_BLOCK", 7)
    got = ease.ease_weights(x, 3.0)
    dense = x.toarray()
    p = np.linalg.inv(dense.T @ dense + 3.0 * np.eye(25))
    want = np.eye(25) - p / np.diag(p)[None, :]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-6)
