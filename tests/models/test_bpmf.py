"""Bayesian MF (Gibbs): the contract, plus accuracy on low-rank ratings and the exported average."""

from __future__ import annotations

import numpy as np
import pytest
from contract import RecommenderContract
from test_mf import low_rank

from nextbuy.errors import ConfigError
from nextbuy.evaluation import evaluate_ratings
from nextbuy.models import bpmf, registry
from nextbuy.models.base import Recommender

FAST = {"factors": 4, "sweeps": 60, "burn_in": 10}


class TestBPMF(RecommenderContract):
    explicit = True

    def make_model(self) -> Recommender:
        return registry.create("bpmf", **FAST)


@pytest.fixture(scope="module")
def split():
    return low_rank()


def test_beats_mf_baseline_and_reports_valid_rmse(split) -> None:
    train, test = split
    seen: list[float] = []
    model = registry.create("bpmf", **FAST)
    model.callback = lambda epoch, metrics: seen.append(metrics.get("valid_rmse", np.nan))
    model.fit(train, test)
    rmse = evaluate_ratings(model, test)["rmse"]
    bias_only = registry.create("bpmf", **{**FAST, "factors": 1}).fit(train)
    assert rmse < 0.62, rmse  # the noise floor of low_rank() is about 0.45
    assert rmse < evaluate_ratings(bias_only, test)["rmse"]
    assert len(seen) == FAST["sweeps"] and np.isnan(seen[0])
    # the callback's running average equals the exported model (rank covers every sample)
    assert abs(seen[-1] - rmse) < 2e-3, (seen[-1], rmse)


def test_low_rank_export_matches_the_average() -> None:
    rng = np.random.default_rng(0)
    users, items = rng.standard_normal((2, 30, 3)), rng.standard_normal((2, 40, 3))
    want = np.mean([users[s] @ items[s].T for s in range(2)], axis=0)
    u, v = bpmf.average_low_rank(users, items, rank=6, rng=rng)  # rank 6 = exact
    np.testing.assert_allclose(u @ v.T, want, atol=1e-8)
    u, v = bpmf.average_low_rank(users, items, rank=4, rng=rng)
    sing = np.linalg.svd(want, compute_uv=False)
    assert u.shape == (30, 4)
    # randomized SVD with power iterations: close to the best rank-4 error
    assert np.linalg.norm(u @ v.T - want) <= 1.05 * np.sqrt((sing[4:] ** 2).sum())


def test_bad_parameters(split) -> None:
    train, _ = split
    with pytest.raises(ConfigError, match="burn_in"):
        registry.create("bpmf", sweeps=5, burn_in=5).fit(train)
    with pytest.raises(ConfigError, match="user_noise"):
        registry.create("bpmf", user_noise=-1.0).fit(train)
