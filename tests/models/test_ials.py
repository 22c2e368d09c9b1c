"""iALS (Rendle et al.): the contract, plus the CG solution against exact least squares."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from contract import RecommenderContract, block_interactions

from nextbuy.data.interactions import Interactions
from nextbuy.errors import ConfigError
from nextbuy.models import ials, registry
from nextbuy.models.base import Recommender

PARAMS = {"factors": 4, "regularization": 0.05, "unobserved_weight": 0.2, "iterations": 10}


class TestIALS(RecommenderContract):
    def make_model(self) -> Recommender:
        return registry.create("ials", **PARAMS)


class TestIALSWithPopularityPrior(RecommenderContract):
    """Scores, predict, fold-in and save/load stay consistent with the item-bias prior on."""

    def make_model(self) -> Recommender:
        return registry.create("ials", **PARAMS, popularity_prior=0.5)


def exact_half_step(x: sp.csr_matrix, h: np.ndarray, a0: float, reg: np.ndarray) -> np.ndarray:
    """Row by row: (sum_i c h h^T + a0 H^T H + reg I)^-1 sum_i c h."""
    out = np.zeros((x.shape[0], h.shape[1]))
    for u in range(x.shape[0]):
        row = x[u]
        hs, c = h[row.indices], row.data
        a = (hs * c[:, None]).T @ hs + a0 * h.T @ h + reg[u] * np.eye(h.shape[1])
        out[u] = np.linalg.solve(a, (hs * c[:, None]).sum(0))
    return out


def test_cg_half_step_converges_to_exact_solution() -> None:
    rng = np.random.default_rng(0)
    x = sp.random(30, 20, density=0.2, random_state=rng, format="csr", dtype=np.float32)
    x.data[:] = 1.0 + rng.random(x.nnz).astype(np.float32)
    h = rng.standard_normal((20, 5)).astype(np.float32)
    reg = 0.5 + rng.random(30)
    want = exact_half_step(x, h, 0.3, reg)
    got = ials._half_step(x, h, np.zeros((30, 5), np.float32), 0.3, reg, cg_steps=5)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
    few = ials._half_step(x, h, np.zeros((30, 5), np.float32), 0.3, reg, cg_steps=2)
    assert np.abs(few - want).max() > np.abs(got - want).max()  # more steps, closer


def test_fold_in_reproduces_trained_users() -> None:
    train = block_interactions()
    model = registry.create("ials", **{**PARAMS, "iterations": 30, "cg_steps": 6}).fit(train)
    users = np.arange(8)
    folded = model.recalculate_user(train.csr[users])
    np.testing.assert_allclose(folded, model.user_factors_[users], rtol=0.05, atol=0.02)


def test_frequency_scaled_regularization() -> None:
    model = registry.create("ials", regularization=2.0, unobserved_weight=0.5, reg_exponent=1.0)
    np.testing.assert_allclose(model._reg(np.array([0, 10]), 100), [2.0 * 50, 2.0 * 60])
    flat = registry.create("ials", regularization=2.0, reg_exponent=0.0)
    np.testing.assert_allclose(flat._reg(np.array([0, 10]), 100), [2.0, 2.0])


def test_callback_gets_validation_metrics_per_iteration() -> None:
    train = block_interactions()
    seen: list[tuple[int, float]] = []
    model = registry.create("ials", **{**PARAMS, "iterations": 3})
    model.callback = lambda epoch, metrics: seen.append((epoch, metrics["valid_ndcg@10"]))
    valid = Interactions.from_csr(
        sp.csr_matrix(([1.0, 1.0], ([0, 11], [0, 7])), shape=train.shape),
        user_map=train.user_map,
        item_map=train.item_map,
    )
    model.fit(train, valid)
    assert [e for e, _ in seen] == [0, 1, 2]
    assert all(0.0 <= v <= 1.0 for _, v in seen)


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="cg_steps"):
        registry.create("ials", cg_steps=0).fit(block_interactions())
    with pytest.raises(ConfigError, match="unobserved_weight"):
        registry.create("ials", unobserved_weight=-1.0).fit(block_interactions())
