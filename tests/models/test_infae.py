"""Infinite-width autoencoder (NTK user-EASE): the contract, the kernel, closed form, fold-in."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from contract import RecommenderContract

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models import registry
from nextbuy.models.base import Recommender
from nextbuy.models.infae import user_kernel


class TestInfAE(RecommenderContract):
    def make_model(self) -> Recommender:
        return registry.create("infae", regularization=0.5, dropout=0.0)


X = np.array(
    [[1, 1, 0, 0, 1], [1, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 0, 0], [0, 0, 1, 1, 1]],
    dtype=np.float64,
)


def numpy_ntk(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The one-layer ReLU NTK written out: |x||y| (k1(c) + c k0(c)), k0 = (pi - t) / pi."""
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    cos = np.clip(a @ b.T / np.outer(na, nb), -1, 1)
    t = np.arccos(cos)
    k1 = (np.sin(t) + (np.pi - t) * cos) / np.pi
    return np.outer(na, nb) * (k1 + cos * (np.pi - t) / np.pi)


def test_kernel_values() -> None:
    kernel = user_kernel(sp.csr_matrix(X))
    np.testing.assert_allclose(kernel, numpy_ntk(X, X), atol=1e-12)
    np.testing.assert_allclose(np.diag(kernel), 2 * X.sum(axis=1))  # K(x, x) = 2 |x|^2
    # rows 1 and 4 share only item 2: cos = 1/sqrt(6); rows without overlap keep |x||y| / pi
    disjoint = np.array([[1.0, 0, 0], [0, 1.0, 1.0]])
    assert user_kernel(sp.csr_matrix(disjoint))[0, 1] == pytest.approx(np.sqrt(2) / np.pi)
    assert np.all(user_kernel(sp.csr_matrix(np.zeros((2, 3))))) == 0  # empty rows: 0


@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_closed_form_and_fold_in_match_numpy(dropout: float) -> None:
    lam = 0.7
    model = registry.create("infae", regularization=lam, dropout=dropout)
    model.fit(Interactions.from_csr(X))
    kernel = numpy_ntk(X, X)
    penalty = lam * np.diag(kernel).mean() + dropout / (1 - dropout) * np.diag(kernel)
    p = np.linalg.inv(kernel + np.diag(penalty))
    b = np.eye(5) - p / np.diag(p)[None, :]
    np.testing.assert_allclose(model.weights_, b, atol=1e-5)
    np.testing.assert_allclose(model.score(np.arange(5)), b.T @ X, atol=1e-5)
    new = np.array([[1.0, 0, 0, 1, 0]])
    want = (p @ numpy_ntk(X, new)).T @ X  # kernel ridge regression on the training users
    np.testing.assert_allclose(
        model.score([-1], sp.csr_matrix(new), recalculate_user=True), want, atol=1e-5
    )


def test_auto_regularization_follows_density() -> None:
    model = registry.create("infae").fit(Interactions.from_csr(X))
    # 14 interactions over 5 users: sparsity 84.8 / 2.8 = 30.3, so 2 x (30.3 / 7) ** 2
    assert model.params["regularization"] == pytest.approx(2 * (84.8 / 2.8 / 7) ** 2, rel=1e-3)


def test_too_many_users_is_config_error() -> None:
    with pytest.raises(ConfigError, match="max_users"):
        registry.create("infae", max_users=3).fit(Interactions.from_csr(X))
