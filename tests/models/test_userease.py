"""User-user EASE: the contract, plus the closed form and the fold-in against numpy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from contract import RecommenderContract

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models import registry
from nextbuy.models.base import Recommender


class TestUserEASE(RecommenderContract):
    def make_model(self) -> Recommender:
        return registry.create("userease", regularization=1.0, dropout=0.0)


X = np.array(
    [[1, 1, 0, 0, 1], [1, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 0, 0], [0, 0, 1, 1, 1]],
    dtype=np.float64,
)


@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_closed_form_and_fold_in_match_numpy(dropout: float) -> None:
    lam = 2.0
    model = registry.create("userease", regularization=lam, dropout=dropout)
    model.fit(Interactions.from_csr(X))
    gram = X @ X.T
    penalty = lam + dropout / (1 - dropout) * np.diag(gram)
    p = np.linalg.inv(gram + np.diag(penalty))
    b = np.eye(5) - p / np.diag(p)[None, :]
    np.testing.assert_allclose(model.weights_, b, atol=1e-5)
    np.testing.assert_allclose(model.score(np.arange(5)), b.T @ X, atol=1e-5)
    new = np.array([[1.0, 0, 0, 1, 0]])
    want = (p @ X @ new.T).T @ X  # ridge regression on the training users
    np.testing.assert_allclose(
        model.score([-1], sp.csr_matrix(new), recalculate_user=True), want, atol=1e-5
    )


def test_too_many_users_is_config_error() -> None:
    with pytest.raises(ConfigError, match="max_users"):
        registry.create("userease", max_users=3).fit(Interactions.from_csr(X))
